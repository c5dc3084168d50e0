/**
 * @file Calls to KubeVirt's aggregated API (subresources.kubevirt.io), which
 * the generated clients do not know: pause and unpause of a VM's running
 * instance. One PUT each, with the kubeconfig's credentials.
 */
import https from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';

export type VmiAction = 'pause' | 'unpause';

export async function vmiAction(kc: KubeConfig, namespace: string, name: string, action: VmiAction): Promise<void> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no cluster');
  const url = new URL(
    `/apis/subresources.kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances/${encodeURIComponent(name)}/${action}`,
    server,
  );
  const options: https.RequestOptions = { method: 'PUT', headers: { 'Content-Type': 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  await new Promise<void>((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) resolve();
        else reject(new ApiException(code, `${action} ${namespace}/${name}`, Buffer.concat(chunks).toString(), {}));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end('{}');
  });
}
