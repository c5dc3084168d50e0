import { describe, expect, it } from 'vitest';
import { decidePaused, pausedSince } from '../domain/limits.js';
import type { InstanceRecord } from '../store/instances.js';
import { instanceJson, instanceView } from './instances.js';

const t0 = new Date('2026-11-25T10:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

function instance(o: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id: 'i1',
    ownerId: 'u1',
    labName: 'lab',
    labVersion: 1,
    state: 'running',
    revision: 3,
    credentials: [],
    history: [
      { from: 'requested', to: 'provisioning', at: t0, by: 'system' },
      { from: 'provisioning', to: 'running', at: at(10), by: 'system' },
    ],
    createdAt: t0,
    updatedAt: at(10),
    lastActivityAt: at(10),
    limits: { ttl: 7200, idle: 1800, onExpire: 'stop', extensions: 2 },
    resources: { cpu: 250, memory: 2 ** 26 },
    expiresAt: at(7210),
    extensionsUsed: 1,
    ...o,
  };
}

const paused = (o: Partial<InstanceRecord> = {}) =>
  instance({
    state: 'paused',
    history: [...instance().history, { from: 'running', to: 'paused', at: at(100), by: 'u1' }],
    updatedAt: at(100),
    ...o,
  });

describe('the expiry an instance shows', () => {
  it('while running: the nearer of the idle and TTL deadlines', () => {
    const json = instanceJson(instance(), 86400);
    expect(json.expiry).toEqual({
      at: at(1810),
      cause: 'idle',
      expiresAt: at(7210),
      extensionsUsed: 1,
      extensionsLeft: 1,
    });
    expect(instanceView.safeParse(JSON.parse(JSON.stringify(json))).success).toBe(true);
  });

  it("while paused: the stop after the lab's paused-age limit, else the server's, the moment the reaper stops it", () => {
    const lab = paused({ limits: { ...instance().limits, maxPaused: 600 } });
    const json = instanceJson(lab, 86400);
    expect(json.expiry).toEqual({
      at: at(700),
      cause: 'paused',
      expiresAt: at(7210),
      extensionsUsed: 1,
      extensionsLeft: 1,
    });
    expect(instanceView.safeParse(JSON.parse(JSON.stringify(json))).success).toBe(true);
    // The reaper's decision turns at that very moment.
    const stopAt = json.expiry!.at.getTime();
    expect(decidePaused(lab, pausedSince(lab), new Date(stopAt - 1), 86400).kind).toBe('none');
    expect(decidePaused(lab, pausedSince(lab), new Date(stopAt), 86400).kind).toBe('expire');

    expect(instanceJson(paused(), 3600).expiry).toMatchObject({ at: at(3700), cause: 'paused' });
  });

  it('is absent for a paused instance without a limit and in the other states', () => {
    expect(instanceJson(paused(), 0).expiry).toBeUndefined();
    expect('expiry' in instanceJson(paused(), 0)).toBe(false);
    for (const state of ['requested', 'provisioning', 'stopping', 'stopped', 'failed'] as const) {
      expect(instanceJson(instance({ state }), 86400).expiry).toBeUndefined();
    }
  });
});
