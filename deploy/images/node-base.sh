# shellcheck shell=bash
# lab-orchestrator/node-base: the stand-in for docker.io/library/node:20-bookworm-slim
# on a machine that reaches no container registry (shared/ENVIRONMENT.md). Sourced by
# build.sh (`deploy/images/build.sh node-base`); the top-level Dockerfile builds on it with
#   podman build --build-arg NODE_IMAGE=localhost/lab-orchestrator/node-base ...
#
# It is the cached Debian bookworm base root filesystem (build.sh's base_rootfs) plus this
# machine's Node.js: the `node` binary and npm, copied from the host installation (the
# project's engines field asks for Node >= 20.19). The host's CA bundle is copied as well
# and given to Node (NODE_EXTRA_CA_CERTS), so that `npm ci` inside a build trusts what the
# host trusts: here the package registries are reached through a TLS-inspecting egress
# proxy whose CA only the host knows. NODE_BASE_CA= (empty) leaves Debian's bundle alone.

NODE_BASE_NODE="${NODE_BASE_NODE:-$(command -v node || true)}"
NODE_BASE_CA="${NODE_BASE_CA-/etc/ssl/certs/ca-certificates.crt}"

# Where npm lives beside the node binary: <prefix>/lib/node_modules/npm.
node_base_npm() { echo "$(cd "$(dirname "$(readlink -f "$NODE_BASE_NODE")")/.." && pwd)/lib/node_modules/npm"; }

node_base_check() {
  [[ -x "$NODE_BASE_NODE" ]] || die "node-base: no node on this machine (install Node.js 20, or set NODE_BASE_NODE)"
  local major
  major="$("$NODE_BASE_NODE" -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || die "node-base: $NODE_BASE_NODE is Node $major; the tool needs Node 20 or later"
  [[ -f "$(node_base_npm)/bin/npm-cli.js" ]] || die "node-base: npm not found at $(node_base_npm)"
}

# The recipe: this file, the base root filesystem's recipe, the Node and npm versions, the CA bundle.
node_base_recipe() {
  node_base_check
  {
    echo "$RECIPE_SHELL"
    cat "${BASH_SOURCE[0]}"
    "$NODE_BASE_NODE" --version
    cat "$(node_base_npm)/package.json"
    [[ -n "$NODE_BASE_CA" && -f "$NODE_BASE_CA" ]] && cat "$NODE_BASE_CA"
  } | sha256sum | cut -c1-16
}

build_node_base() {
  node_base_check
  base_rootfs
  local dir="$CACHE/node-base.rootfs" npm
  npm="$(node_base_npm)"
  rm -rf "$dir"
  say "copying the base root filesystem + node $("$NODE_BASE_NODE" --version) ($NODE_BASE_NODE) + npm $("$NODE_BASE_NODE" -p "require('$npm/package.json').version")"
  cp -a "$CACHE/base.rootfs" "$dir"
  install -D -m 0755 "$(readlink -f "$NODE_BASE_NODE")" "$dir/usr/local/bin/node"
  mkdir -p "$dir/usr/local/lib/node_modules"
  cp -a "$npm" "$dir/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
  local changes=()
  if [[ -n "$NODE_BASE_CA" && -f "$NODE_BASE_CA" ]]; then
    install -D -m 0644 "$NODE_BASE_CA" "$dir/usr/local/share/node-base/ca-certificates.crt"
    changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/node-base/ca-certificates.crt')
  fi
  chroot "$dir" /usr/local/bin/node -e 'process.exit(0)' || die "node-base: node does not run in the Debian base (missing libraries?)"
  pack "$dir" | import node-base "$(node_base_recipe)" "${changes[@]}" --change 'CMD ["node"]'
  rm -rf "$dir"
}
