import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../domain/tutorial/progress.js';
import { createLogger } from '../log.js';
import { ProgressEvents } from './progress-events.js';

const event = { instanceId: 'i1', score: 1 } as ProgressEvent;

describe('progress events', () => {
  it('hands each event to every listener in order; a failing one does not stop the others, and the call fails so the event is kept', async () => {
    const hub = new ProgressEvents(createLogger('silent'));
    const seen: string[] = [];
    hub.register({ progressChanged: async () => void seen.push('first') });
    hub.register({
      progressChanged: async () => {
        throw new Error('database down');
      },
    });
    const remove = hub.register({ progressChanged: async (e) => void seen.push(`third:${e.instanceId}`) });
    await expect(hub.progressChanged(event)).rejects.toThrow('1 progress listener(s) failed');
    expect(seen).toEqual(['first', 'third:i1']);
    remove();
    await expect(hub.progressChanged(event)).rejects.toThrow(AggregateError);
    expect(seen).toEqual(['first', 'third:i1', 'first']);
  });
});
