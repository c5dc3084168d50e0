/**
 * @file How the kubernetes runtime names and labels what it creates. The
 * labels are the runtime's only memory: `list` and a restarted tool find
 * instances by them, so they are kept in one place.
 */
import { createHash } from 'node:crypto';
import type { InstanceSpec } from '../runtime.js';
import { RuntimeError } from '../runtime.js';

export const LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  instance: 'lab-orchestrator.io/instance',
  user: 'lab-orchestrator.io/user',
  lab: 'lab-orchestrator.io/lab',
  version: 'lab-orchestrator.io/lab-version',
  system: 'lab-orchestrator.io/system',
} as const;

export const MANAGED_BY = 'lab-orchestrator';

/** Annotations keep what a label value cannot hold (an owner id such as an e-mail or an LTI URL). */
export const ANNOTATION = {
  user: 'lab-orchestrator.io/user',
  /** Consoles of a system (comma-separated): status reports them without the lab at hand. */
  consoles: 'lab-orchestrator.io/consoles',
} as const;

/** Where the runtime lives in a cluster and what it may assume about it. */
export interface ClusterSettings {
  /** Prefix of instance namespaces: `<prefix><instance id>`. */
  namespacePrefix: string;
  /** Namespace of the tool itself: its gateway may reach every instance. */
  orchestratorNamespace: string;
  /** Labels of the tool's pods (the gateway), as set in deploy/kubernetes. */
  orchestratorPodLabels: Record<string, string>;
  /** Namespace of the cluster DNS. */
  dnsNamespace: string;
  /** Destinations never reachable from a lab, even with internet access (cluster, private, link-local). */
  privateRanges: string[];
  /** What KubeVirt adds to a VM's pod beyond the guest's resources, for quotas and limits. */
  vmOverhead: { cpu: string; memory: string };
  /** Storage class of imported VM disks (CDI DataVolumes); the cluster's default when unset. */
  storageClassName?: string;
  /**
   * What CDI's importer pod of an imported disk may use (CDI's default
   * limits, 750m and 600M, rounded up): quotas and limits leave room for it.
   */
  diskImport: { cpu: string; memory: string };
}

export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = {
  namespacePrefix: 'lab-',
  orchestratorNamespace: 'lab-orchestrator',
  orchestratorPodLabels: { 'app.kubernetes.io/name': 'lab-orchestrator' },
  dnsNamespace: 'kube-system',
  // 100.64.0.0/10 is not in RFC 1918 but several clouds put pod networks there.
  privateRanges: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10'],
  vmOverhead: { cpu: '200m', memory: '512Mi' },
  diskImport: { cpu: '750m', memory: '600Mi' },
};

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A label value for any string: itself when Kubernetes allows it, otherwise a
 * stable hash (selecting by it stays possible: hash the same input).
 */
export function labelValue(text: string): string {
  if (text.length <= 63 && LABEL_VALUE.test(text)) return text;
  return `h-${createHash('sha256').update(text).digest('hex').slice(0, 40)}`;
}

export function namespaceName(id: string, settings: Pick<ClusterSettings, 'namespacePrefix'>): string {
  const name = `${settings.namespacePrefix}${id}`;
  if (name.length > 63 || !DNS_LABEL.test(name)) {
    throw new RuntimeError(
      `instance id "${id}" cannot name a namespace: "${name}" must be a DNS label (lower-case letters, digits, "-", at most 63)`,
      'bad-spec',
    );
  }
  return name;
}

/** Labels every object of an instance carries. */
export function instanceLabels(spec: InstanceSpec): Record<string, string> {
  return {
    [LABEL.managedBy]: MANAGED_BY,
    [LABEL.instance]: labelValue(spec.id),
    [LABEL.user]: labelValue(spec.owner),
    [LABEL.lab]: labelValue(spec.lab.name),
    [LABEL.version]: String(spec.lab.version),
  };
}

/** Selects the pods of one system of one instance (the VM's launcher pod too). */
export function systemSelector(spec: InstanceSpec, system: string): Record<string, string> {
  return { [LABEL.instance]: labelValue(spec.id), [LABEL.system]: system };
}
