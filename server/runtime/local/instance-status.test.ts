import { describe, expect, it } from 'vitest';
import type { SystemStatus } from '../runtime.js';
import { composeStatus } from './instance-status.js';

const lab = [
  { name: 'client', kind: 'container' as const, consoles: ['terminal' as const] },
  { name: 'box', kind: 'vm' as const, consoles: ['terminal' as const, 'desktop' as const] },
];
const ready = (name: string, kind: 'container' | 'vm' = 'container'): SystemStatus => ({
  name,
  kind,
  consoles: ['terminal'],
  phase: 'ready',
});

describe('status of an instance', () => {
  it('lists the systems in lab order with what their runtime reports', () => {
    expect(composeStatus({ id: 'i', lab, found: [ready('box', 'vm'), ready('client')] })).toEqual({
      id: 'i',
      exists: true,
      systems: [ready('client'), ready('box', 'vm')],
    });
  });

  it('names a system of the lab that vanished as missing', () => {
    const status = composeStatus({ id: 'i', lab, found: [ready('client')] });
    expect(status.systems[1]).toEqual({
      name: 'box',
      kind: 'vm',
      consoles: ['terminal', 'desktop'],
      phase: 'missing',
      reason: 'system box does not exist any more',
    });
  });

  it('shows what provisioning does until the system is ready', () => {
    const booting: SystemStatus = { ...ready('box', 'vm'), phase: 'booting' };
    const progress = new Map([
      ['client', ready('client')],
      ['box', booting],
    ]);
    const status = composeStatus({ id: 'i', lab, found: [ready('client'), ready('box', 'vm')], progress });
    expect(status.systems.map((s) => s.phase)).toEqual(['ready', 'booting']);
    // Before the network exists: only provisioning knows.
    const early = composeStatus({ id: 'i', found: [], progress: new Map([['box', { ...booting, phase: 'pulling' }]]) });
    expect(early).toMatchObject({ exists: false, systems: [{ name: 'box', phase: 'pulling' }] });
  });

  it('keeps the reason of a failed provision once nothing is left', () => {
    const failure: SystemStatus[] = [{ ...ready('client'), phase: 'failed', reason: 'image x does not exist' }];
    expect(composeStatus({ id: 'i', found: [], failure })).toEqual({ id: 'i', exists: false, systems: failure });
    expect(composeStatus({ id: 'i', found: [] })).toEqual({ id: 'i', exists: false, systems: [] });
  });
});
