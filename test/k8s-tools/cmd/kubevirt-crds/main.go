// Command kubevirt-crds writes the VirtualMachine and VirtualMachineInstance
// CustomResourceDefinitions of a KubeVirt release into a directory, so a test
// API server validates kubevirt.io/v1 objects with KubeVirt's real schemas.
//
// KubeVirt builds its CRDs in code (pkg/virt-operator/resource/generate/components/crds.go)
// from OpenAPI schemas kept as YAML strings in validations_generated.go. Importing
// kubevirt.io/kubevirt as a Go dependency is impractical (replace lines), so this
// reads that file from the downloaded module source with go/parser, takes the
// strings and wraps them the way crds.go does. The output is KubeVirt's code:
// it is generated into .cache/ at setup and never committed.
//
//	go run ./cmd/kubevirt-crds -source $(go mod download -json kubevirt.io/kubevirt@v1.8.0 | jq -r .Dir) -out DIR
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const validationsFile = "pkg/virt-operator/resource/generate/components/validations_generated.go"

// crd is what crds.go sets besides the schema (NewVirtualMachineCrd,
// NewVirtualMachineInstanceCrd at KubeVirt v1.8.0).
type crd struct {
	singular, plural, kind string
	shortNames             []string
	statusSubresource      bool
	columns                []column
}

type column struct {
	name, typ, jsonPath, description string
	priority                         int
}

var crds = []crd{
	{
		singular: "virtualmachine", plural: "virtualmachines", kind: "VirtualMachine",
		shortNames: []string{"vm", "vms"}, statusSubresource: true,
		columns: []column{
			{name: "Age", typ: "date", jsonPath: ".metadata.creationTimestamp"},
			{name: "Status", typ: "string", jsonPath: ".status.printableStatus", description: "Human Readable Status"},
			{name: "Ready", typ: "string", jsonPath: ".status.conditions[?(@.type=='Ready')].status"},
		},
	},
	{
		singular: "virtualmachineinstance", plural: "virtualmachineinstances", kind: "VirtualMachineInstance",
		shortNames: []string{"vmi", "vmis"},
		columns: []column{
			{name: "Age", typ: "date", jsonPath: ".metadata.creationTimestamp"},
			{name: "Phase", typ: "string", jsonPath: ".status.phase"},
			{name: "IP", typ: "string", jsonPath: ".status.interfaces[0].ipAddress"},
			{name: "NodeName", typ: "string", jsonPath: ".status.nodeName"},
			{name: "Ready", typ: "string", jsonPath: ".status.conditions[?(@.type=='Ready')].status"},
			{name: "Live-Migratable", typ: "string", jsonPath: ".status.conditions[?(@.type=='LiveMigratable')].status", priority: 1},
			{name: "Paused", typ: "string", jsonPath: ".status.conditions[?(@.type=='Paused')].status", priority: 1},
		},
	},
}

func main() {
	source := flag.String("source", "", "directory of the kubevirt.io/kubevirt module source")
	out := flag.String("out", "", "directory to write <plural>.kubevirt.io.yaml into")
	flag.Parse()
	if *source == "" || *out == "" {
		fail("both -source and -out are required")
	}
	schemas, err := readValidations(filepath.Join(*source, validationsFile))
	if err != nil {
		fail(err.Error())
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err.Error())
	}
	for _, c := range crds {
		schema, ok := schemas[c.singular]
		if !ok {
			fail(fmt.Sprintf("%s: no schema for %q", validationsFile, c.singular))
		}
		if !strings.HasPrefix(schema, "openAPIV3Schema:") {
			fail(fmt.Sprintf("%s: schema for %q does not start with openAPIV3Schema", validationsFile, c.singular))
		}
		path := filepath.Join(*out, c.plural+".kubevirt.io.yaml")
		if err := os.WriteFile(path, []byte(render(c, schema)), 0o644); err != nil {
			fail(err.Error())
		}
		fmt.Fprintf(os.Stderr, "kubevirt-crds: wrote %s\n", path)
	}
}

// readValidations returns the map literal CRDsValidation: singular name -> YAML.
func readValidations(path string) (map[string]string, error) {
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	out := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "CRDsValidation" || len(spec.Values) != 1 {
			return true
		}
		lit, ok := spec.Values[0].(*ast.CompositeLit)
		if !ok {
			return false
		}
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, kerr := stringValue(kv.Key)
			value, verr := stringValue(kv.Value)
			if kerr != nil || verr != nil {
				err = fmt.Errorf("%s: unexpected entry in CRDsValidation", path)
				return false
			}
			out[key] = value
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no CRDsValidation map found", path)
	}
	return out, nil
}

// stringValue evaluates a string literal or a concatenation of them (raw
// strings cannot hold a backtick, so generated code splices them in).
func stringValue(e ast.Expr) (string, error) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind != token.STRING {
			return "", fmt.Errorf("not a string")
		}
		return strconv.Unquote(v.Value)
	case *ast.BinaryExpr:
		if v.Op != token.ADD {
			return "", fmt.Errorf("not a concatenation")
		}
		l, err := stringValue(v.X)
		if err != nil {
			return "", err
		}
		r, err := stringValue(v.Y)
		if err != nil {
			return "", err
		}
		return l + r, nil
	case *ast.ParenExpr:
		return stringValue(v.X)
	}
	return "", fmt.Errorf("not a string expression")
}

// render writes the CRD as YAML; the schema block is indented under each
// version (only non-empty lines, so block scalars keep their content).
func render(c crd, schema string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by test/k8s-tools/cmd/kubevirt-crds from KubeVirt's %s.\n", validationsFile)
	b.WriteString("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s.kubevirt.io\n  labels:\n    kubevirt.io: \"\"\n", c.plural)
	b.WriteString("spec:\n  group: kubevirt.io\n  scope: Namespaced\n  names:\n")
	fmt.Fprintf(&b, "    kind: %s\n    plural: %s\n    singular: %s\n", c.kind, c.plural, c.singular)
	fmt.Fprintf(&b, "    shortNames: [%s]\n    categories: [all]\n  versions:\n", strings.Join(c.shortNames, ", "))
	indented := indent(strings.TrimRight(schema, "\n"), "      ")
	versions := []struct {
		name            string
		storage         bool
		deprecationNote string
	}{
		{name: "v1", storage: true},
		{name: "v1alpha3", deprecationNote: "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."},
	}
	for _, v := range versions {
		fmt.Fprintf(&b, "  - name: %s\n    served: true\n    storage: %t\n", v.name, v.storage)
		if v.deprecationNote != "" {
			fmt.Fprintf(&b, "    deprecated: true\n    deprecationWarning: %q\n", v.deprecationNote)
		}
		if c.statusSubresource {
			b.WriteString("    subresources:\n      status: {}\n")
		}
		b.WriteString("    additionalPrinterColumns:\n")
		for _, col := range c.columns {
			fmt.Fprintf(&b, "    - name: %s\n      type: %s\n      jsonPath: %q\n", col.name, col.typ, col.jsonPath)
			if col.description != "" {
				fmt.Fprintf(&b, "      description: %q\n", col.description)
			}
			if col.priority != 0 {
				fmt.Fprintf(&b, "      priority: %d\n", col.priority)
			}
		}
		b.WriteString("    schema:\n")
		b.WriteString(indented)
		b.WriteString("\n")
	}
	return b.String()
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

func fail(msg string) {
	fmt.Fprintf(os.Stderr, "kubevirt-crds: %s\n", msg)
	os.Exit(1)
}
