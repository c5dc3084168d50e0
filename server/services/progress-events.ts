/**
 * @file Where progress events go: the listeners registered in the
 * composition root (server/server.ts), e.g. the LTI grade outbox. The
 * tutorial service emits each change once, to this hub, which hands it to
 * every listener in registration order.
 */
import type { ProgressEvent, ProgressListener } from '../domain/tutorial/progress.js';
import type { Logger } from '../log.js';

export class ProgressEvents implements ProgressListener {
  private readonly listeners: ProgressListener[] = [];

  constructor(private readonly log: Logger) {}

  /** Adds a listener; the function returned removes it again. */
  register(listener: ProgressListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /**
   * One listener failing does not keep the event from the others; it is
   * logged, and the call then fails, so the caller keeps the event to send
   * again (listeners tolerate repeats).
   */
  async progressChanged(event: ProgressEvent): Promise<void> {
    const failures: unknown[] = [];
    for (const listener of [...this.listeners]) {
      try {
        await listener.progressChanged(event);
      } catch (err) {
        this.log.error({ err, instance: event.instanceId }, 'a progress listener failed');
        failures.push(err);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} progress listener(s) failed`);
  }
}
