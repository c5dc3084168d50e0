import { describe, expect, it } from 'vitest';
import { containerStatus } from './container-status.js';

const labels = { 'lab-orchestrator.system': 'client', 'lab-orchestrator.consoles': 'terminal,desktop' };

describe('phase of a container system', () => {
  it('follows the engine state', () => {
    expect(containerStatus({ Labels: labels, State: 'running' })).toEqual({
      name: 'client',
      kind: 'container',
      consoles: ['terminal', 'desktop'],
      phase: 'ready',
    });
    expect(containerStatus({ Labels: labels, State: 'paused' }).phase).toBe('paused');
    expect(containerStatus({ Labels: labels, State: 'created' }).phase).toBe('creating');
  });

  it('a container that exited with an error has failed, with the exit code as reason', () => {
    expect(containerStatus({ Labels: labels, State: 'exited', Status: 'Exited (137) 2 seconds ago' })).toMatchObject({
      phase: 'failed',
      reason: 'the system stopped with exit code 137',
    });
    expect(containerStatus({ Labels: labels, State: 'exited', Status: 'Exited (0) 1 minute ago' }).phase).toBe(
      'stopped',
    );
  });
});
