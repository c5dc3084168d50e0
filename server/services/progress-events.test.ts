import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../domain/tutorial/progress.js';
import { createLogger } from '../log.js';
import { ProgressEvents } from './progress-events.js';

const event = { instanceId: 'i1', score: 1 } as ProgressEvent;

describe('progress events', () => {
  it('hands each event to every listener in order; a failing one does not stop the others', async () => {
    const hub = new ProgressEvents(createLogger('silent'));
    const seen: string[] = [];
    hub.register({ progressChanged: async () => void seen.push('first') });
    hub.register({
      progressChanged: async () => {
        throw new Error('database down');
      },
    });
    const remove = hub.register({ progressChanged: async (e) => void seen.push(`third:${e.instanceId}`) });
    await hub.progressChanged(event);
    expect(seen).toEqual(['first', 'third:i1']);
    remove();
    await hub.progressChanged(event);
    expect(seen).toEqual(['first', 'third:i1', 'first']);
  });
});
