/**
 * @file The isolation of an instance, as NetworkPolicies (DESIGN.md
 * "kubernetes"): nothing in or out, except inside the namespace, DNS, the
 * tool's gateway, and the internet (never private ranges) when the lab asks.
 * CDI's importer pods of imported VM disks may reach anything: the lab's disk
 * source may be a mirror in the cluster, and learners cannot make such a pod.
 * Policies are additive, so each rule is its own named policy: what an
 * instance may do reads as a list of names.
 */
import type { V1NetworkPolicy, V1NetworkPolicySpec } from '@kubernetes/client-node';
import type { InstanceSpec } from '../runtime.js';
import { CDI_IMPORTER_LABELS } from './data-volume.js';
import { type ClusterSettings, instanceLabels } from './names.js';

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export const POLICY = {
  denyAll: 'deny-all',
  sameNamespace: 'allow-same-namespace',
  dns: 'allow-dns',
  gateway: 'allow-gateway',
  internet: 'allow-internet',
  diskImport: 'allow-disk-import',
} as const;

export function buildNetworkPolicies(
  spec: InstanceSpec,
  namespace: string,
  settings: ClusterSettings,
): V1NetworkPolicy[] {
  const policy = (
    name: string,
    body: Omit<V1NetworkPolicySpec, 'podSelector'>,
    podSelector: V1NetworkPolicySpec['podSelector'] = {},
  ): V1NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, labels: instanceLabels(spec) },
    spec: { podSelector, ...body },
  });
  const policies = [
    // Selecting every pod for both directions with no rule denies everything.
    policy(POLICY.denyAll, { policyTypes: ['Ingress', 'Egress'] }),
    policy(POLICY.sameNamespace, {
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ _from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }),
    policy(POLICY.dns, {
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.dnsNamespace } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
    policy(POLICY.gateway, {
      policyTypes: ['Ingress'],
      ingress: [
        {
          _from: [
            {
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.orchestratorNamespace } },
              podSelector: { matchLabels: settings.orchestratorPodLabels },
            },
          ],
        },
      ],
    }),
  ];
  if (spec.lab.definition.network.internet) {
    const ipv4 = settings.privateRanges.filter((cidr) => !cidr.includes(':'));
    const ipv6 = settings.privateRanges.filter((cidr) => cidr.includes(':'));
    policies.push(
      policy(POLICY.internet, {
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              { ipBlock: { cidr: '0.0.0.0/0', except: ipv4 } },
              // Unique local and link-local IPv6 stand for the private ranges there.
              { ipBlock: { cidr: '::/0', except: ['fc00::/7', 'fe80::/10', ...ipv6] } },
            ],
          },
        ],
      }),
    );
  }
  if (spec.systems.some((s) => s.definition.kind === 'vm' && s.definition.disk)) {
    // One empty rule allows every destination.
    policies.push(
      policy(POLICY.diskImport, { policyTypes: ['Egress'], egress: [{}] }, { matchLabels: { ...CDI_IMPORTER_LABELS } }),
    );
  }
  return policies;
}
