/**
 * @file The kubernetes runtime as the server starts it: credentials from
 * KUBECONFIG, or the pod's service account when running in a cluster.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../log.js';
import type { ClusterSettings } from './names.js';
import { KubernetesRuntime } from './runtime.js';

export function kubernetesRuntimeFromEnvironment(log: Logger, settings?: Partial<ClusterSettings>): KubernetesRuntime {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error('RUNTIME=kubernetes: no cluster found (set KUBECONFIG, or run inside a cluster)');
  }
  return new KubernetesRuntime({
    kubeConfig,
    ...(settings ? { settings } : {}),
    onError: (err, what) => log.warn({ err, what }, 'kubernetes watch failed; retrying'),
  });
}
