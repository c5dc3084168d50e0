import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { buildInstanceManifests } from './manifests.js';
import { podStatus, vmStatus } from './system-status.js';
import { instanceOf } from './test-lab.js';
import type { VirtualMachine } from './virtual-machine.js';

const m = buildInstanceManifests(instanceOf());
const pod = (status: V1Pod['status'], nodeName?: string): V1Pod => ({
  ...m.pods[0],
  spec: { ...m.pods[0]?.spec, containers: m.pods[0]?.spec?.containers ?? [], ...(nodeName ? { nodeName } : {}) },
  status,
});
const vm = (status: VirtualMachine['status']): VirtualMachine => ({
  ...(m.virtualMachines[0] as VirtualMachine),
  status,
});

describe('podStatus', () => {
  it('names the system and its consoles from the pod', () => {
    expect(podStatus(pod(undefined))).toMatchObject({ name: 'client', kind: 'container', consoles: ['terminal'] });
  });

  it('follows the kubelet: pending, creating, booting, ready', () => {
    expect(podStatus(pod({ phase: 'Pending' })).phase).toBe('pending');
    expect(podStatus(pod({ phase: 'Pending' }, 'node-1')).phase).toBe('creating');
    expect(podStatus(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] }, 'n')).phase).toBe(
      'booting',
    );
    expect(podStatus(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }, 'n')).phase).toBe(
      'ready',
    );
  });

  it('says why a pod cannot run', () => {
    const unschedulable = pod({
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', message: '0/3 nodes have enough memory' }],
    });
    expect(podStatus(unschedulable)).toMatchObject({ phase: 'pending', reason: '0/3 nodes have enough memory' });
    const pull = pod(
      {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'system',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } },
          },
        ],
      },
      'n',
    );
    expect(podStatus(pull)).toEqual(
      expect.objectContaining({ phase: 'failed', reason: 'ImagePullBackOff: no such image' }),
    );
  });
});

describe('vmStatus', () => {
  it('waits for KubeVirt until it writes a status', () => {
    expect(vmStatus(vm(undefined))).toMatchObject({
      name: 'server',
      kind: 'vm',
      phase: 'pending',
      consoles: ['terminal', 'desktop'],
    });
  });

  it('maps KubeVirt’s printable status, ready only when the VM says so', () => {
    expect(vmStatus(vm({ printableStatus: 'Starting' })).phase).toBe('booting');
    expect(vmStatus(vm({ printableStatus: 'Running', ready: false })).phase).toBe('booting');
    expect(vmStatus(vm({ printableStatus: 'Running', ready: true })).phase).toBe('ready');
    expect(vmStatus(vm({ printableStatus: 'Paused', ready: false })).phase).toBe('paused');
    expect(vmStatus(vm({ printableStatus: 'Stopped' })).phase).toBe('stopped');
  });

  it('gives the reason of a failure', () => {
    const status = vmStatus(
      vm({
        printableStatus: 'ErrorUnschedulable',
        conditions: [{ type: 'PodScheduled', status: 'False', message: 'Insufficient devices.kubevirt.io/kvm' }],
      }),
    );
    expect(status).toMatchObject({
      phase: 'failed',
      reason: 'ErrorUnschedulable: Insufficient devices.kubevirt.io/kvm',
    });
  });
});
