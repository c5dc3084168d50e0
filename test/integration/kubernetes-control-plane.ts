/**
 * @file The real API server the kubernetes tests talk to. It always goes
 * through scripts/k8s-control-plane.sh (idempotent: a no-op when already
 * running) and its own kubeconfig, never the ambient KUBECONFIG, so a test
 * run can never touch a real cluster. A cold build takes long: run
 * `scripts/k8s-control-plane.sh build` before the tests (scripts/test.sh).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';

const run = promisify(execFile);
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(REPO, 'scripts/k8s-control-plane.sh');

/** Starts (or finds) the control plane; returns the path of its admin kubeconfig. */
export async function startControlPlane(): Promise<string> {
  const { stdout } = await run(SCRIPT, ['start'], { maxBuffer: 16 * 1024 * 1024, timeout: 280_000 });
  const match = /^export KUBECONFIG=(.+)$/m.exec(stdout);
  if (!match?.[1]) throw new Error(`${SCRIPT} start printed no KUBECONFIG:\n${stdout}`);
  return match[1];
}

/** Also a kubelet (containerd) and the scheduler, so pods really run; needs root. */
export async function startNode(): Promise<{ kubeconfig: string; image: string }> {
  const { stdout, stderr } = await run(SCRIPT, ['start-node'], { maxBuffer: 16 * 1024 * 1024, timeout: 280_000 });
  const kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(stdout)?.[1];
  const image = /test image (\S+)/.exec(stderr)?.[1];
  if (!kubeconfig || !image)
    throw new Error(`${SCRIPT} start-node printed no KUBECONFIG or image:\n${stdout}\n${stderr}`);
  return { kubeconfig, image };
}

/** Stops the kubelet and the scheduler again: the other tests expect pods that never get a node. */
export async function stopNode(): Promise<void> {
  await run(SCRIPT, ['stop-node'], { timeout: 120_000 });
}

export function adminConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** The same cluster and credentials, acting as another user (RBAC is checked for that user). */
export function impersonating(file: string, user: string): KubeConfig {
  const admin = adminConfig(file);
  const kc = new KubeConfig();
  const current = admin.getCurrentUser();
  const cluster = admin.getCurrentCluster();
  if (!current || !cluster) throw new Error(`${file}: no current user or cluster`);
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ ...current, name: 'impersonated', impersonateUser: user }],
    contexts: [{ name: 'impersonated', cluster: cluster.name, user: 'impersonated' }],
    currentContext: 'impersonated',
  });
  return kc;
}

/** kubectl against the test cluster. */
export async function kubectl(file: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('kubectl', ['--kubeconfig', file, ...args], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
}

/** Polls until `check` holds (a condition an asynchronous controller reaches), or fails naming it. */
export async function eventually(what: string, check: () => Promise<boolean>, seconds = 60): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}
