/**
 * The kubernetes runtime with pods that really run: a kubelet (containerd,
 * CNI bridge) and the scheduler beside the API server
 * (`scripts/k8s-control-plane.sh start-node`). Exec and terminals go the
 * whole way: runtime → API server → kubelet → container. The image is
 * busybox-static built on this machine (there is no registry here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInput } from '../../server/domain/lab/schema.js';
import { KubernetesRuntime } from '../../server/runtime/kubernetes/runtime.js';
import { instanceOf } from '../../server/runtime/kubernetes/test-lab.js';
import type { InstanceSpec } from '../../server/runtime/runtime.js';
import { adminConfig, eventually, startNode, stopNode } from './kubernetes-control-plane.js';

let runtime: KubernetesRuntime;
let spec: InstanceSpec;

beforeAll(async () => {
  const { kubeconfig, image } = await startNode();
  runtime = new KubernetesRuntime({ kubeConfig: adminConfig(kubeconfig) });
  const lab: LabInput = {
    name: 'busybox',
    title: 'Busybox',
    systems: [
      {
        name: 'client',
        user: { name: 'student' },
        kind: 'container',
        image,
        command: ['/bin/sleep', '2147483647'],
        resources: { cpu: '100m', memory: '64Mi' },
      },
      {
        // Stands in for a VNC server: whatever reaches port 5900 comes back.
        name: 'desk',
        kind: 'container',
        image,
        consoles: ['desktop'],
        command: ['nc', '-ll', '-p', '5900', '-e', '/bin/cat'],
        resources: { cpu: '100m', memory: '64Mi' },
      },
    ],
  };
  spec = instanceOf(lab, `n-${Date.now().toString(36)}`);
  await runtime.provision(spec);
});

afterAll(async () => {
  if (spec) await runtime?.destroy(spec.id);
  await runtime?.close();
  await stopNode();
});

describe('KubernetesRuntime on a real kubelet', () => {
  it('reaches the desktop port of a container system through pods/portforward, both ways', async () => {
    await eventually(
      'desk ready',
      async () => (await runtime.status(spec.id)).systems.find((x) => x.name === 'desk')?.phase === 'ready',
      120,
    );
    const desktop = await runtime.desktop(spec.id, 'desk');
    let seen = '';
    desktop.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    try {
      desktop.write('RFB 003.008\n');
      await eventually('the bytes back through the port-forward', async () => seen.includes('RFB 003.008'), 20);
    } finally {
      desktop.destroy();
    }
  });

  it('reports the container system ready once the kubelet runs it', async () => {
    await eventually(
      'both systems ready',
      async () => (await runtime.status(spec.id)).systems.every((x) => x.phase === 'ready'),
      120,
    );
  });

  it('sets up the lab user with the generated password, through exec, before provisioning returns', async () => {
    expect((await runtime.exec(spec.id, 'client', ['id', '-un', 'student'])).stdout).toBe('student\n');
    expect((await runtime.exec(spec.id, 'client', ['cat', '/etc/shadow'])).stdout).toBe('student:correct-horse-7\n');
    // Provisioning again (a retry) leaves the user as it is.
    await runtime.provision(spec);
    expect((await runtime.exec(spec.id, 'client', ['grep', '-c', '^student:', '/etc/passwd'])).stdout).toBe('1\n');
    expect((await runtime.exec(spec.id, 'client', ['id', '-un'], { user: 'student' })).stdout).toBe('student\n');
  });

  it('runs commands through pods/exec: output, exit code, stdin, host name', async () => {
    const result = await runtime.exec(spec.id, 'client', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    expect((await runtime.exec(spec.id, 'client', ['cat'], { stdin: 'typed in\n' })).stdout).toBe('typed in\n');
    expect((await runtime.exec(spec.id, 'client', ['hostname'])).stdout).toBe('client\n');
  });

  it('gives up on a command past its timeout', async () => {
    const result = await runtime.exec(spec.id, 'client', ['sleep', '30'], { timeout: 1 });
    expect(result.timedOut).toBe(true);
  });

  it('opens a terminal that runs what is typed and follows resizes', async () => {
    const terminal = await runtime.terminal(spec.id, 'client', { cols: 80, rows: 24 });
    let seen = '';
    terminal.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    try {
      terminal.write('echo $((6*7))\r');
      await eventually('the answer on the terminal', async () => seen.includes('42'), 20);
      await terminal.resize({ cols: 100, rows: 30 });
      // The resize travels on its own channel; give it a moment before asking the terminal.
      await eventually(
        'the new size',
        async () => {
          terminal.write('stty size\r');
          await new Promise((r) => setTimeout(r, 300));
          return seen.includes('30 100');
        },
        20,
      );
    } finally {
      terminal.destroy();
    }
  });
});
