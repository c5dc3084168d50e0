import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type LabDefinition, labSchema } from '../domain/lab/schema.js';
import { createLogger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import { LabPreparation, type LabSource, labPreparationFor, type PreparedLab } from './lab-preparation.js';

const definitionOf = (name: string): LabDefinition =>
  labSchema.parse({ name, title: name, systems: [{ name: 'server', kind: 'vm', image: 'lab-orchestrator/tiny-vm' }] });

/** A catalog in memory: lab → latest version. */
class Catalog implements LabSource {
  readonly latest = new Map<string, number>();
  async list() {
    return [...this.latest].map(([name, latestVersion]) => ({ name, latestVersion }));
  }
  async version(name: string, version: number) {
    return (this.latest.get(name) ?? 0) >= version ? { version, definition: definitionOf(name) } : undefined;
  }
}

/** A runtime's prepare that waits until the test lets each call finish (or fail). */
class Preparer {
  readonly calls: string[] = [];
  active = 0;
  maxActive = 0;
  private readonly pending: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  readonly prepare = (lab: PreparedLab) => {
    this.calls.push(`${lab.name}@${lab.version}`);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    return new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject })).finally(() => this.active--);
  };
  /** Ends the oldest call under way, once there is one. */
  async finish(error?: Error): Promise<void> {
    while (this.pending.length === 0) await new Promise((r) => setTimeout(r, 5));
    const next = this.pending.shift();
    if (error) next?.reject(error);
    else next?.resolve();
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A job on a catalog of `latest` (lab → latest version), started as the leader would. */
function started(latest: Record<string, number>) {
  const catalog = new Catalog();
  for (const [name, version] of Object.entries(latest)) catalog.latest.set(name, version);
  const preparer = new Preparer();
  const lines: Array<{ msg: string; lab?: string; err?: string }> = [];
  const log = createLogger(
    'info',
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const job = new LabPreparation(catalog, preparer.prepare, log, 3600);
  job.start();
  /** Ends the next preparations in turn (an Error fails that one), then waits until nothing is prepared. */
  const finish = async (...outcomes: Array<Error | undefined>) => {
    for (const outcome of outcomes) await preparer.finish(outcome);
    await job.settle();
  };
  const queued = () => job.waiting.map((l) => `${l.name}@${l.version}`);
  return { catalog, preparer, lines, job, finish, queued };
}

describe('LabPreparation', () => {
  it('prepares the latest version of every lab at start, one at a time', async () => {
    const { preparer, job, finish } = started({ alpha: 2, beta: 1 });
    job.wake(); // an import meanwhile: still one at a time
    await job.sweepNow();
    await finish(undefined, undefined);
    expect(preparer.calls).toEqual(['alpha@2', 'beta@1']);
    expect(preparer.maxActive).toBe(1);
    await job.stop();
  });

  it('a newer version replaces the queued older one; a version already handled is not prepared again', async () => {
    const { catalog, preparer, job, finish, queued } = started({ alpha: 1, beta: 1 });
    await job.sweepNow();
    expect(queued()).toEqual(['beta@1']);
    catalog.latest.set('beta', 2);
    await job.sweepNow();
    expect(queued()).toEqual(['beta@2']);
    await finish(undefined, undefined);
    await job.sweepNow();
    await job.settle();
    expect(preparer.calls).toEqual(['alpha@1', 'beta@2']);
    await job.stop();
  });

  it('logs a failure and goes on with the next lab', async () => {
    const { preparer, lines, job, finish } = started({ alpha: 1, beta: 1 });
    await finish(new Error('image lab-orchestrator/tiny-vm is not built'), undefined);
    expect(preparer.calls).toEqual(['alpha@1', 'beta@1']);
    const failure = lines.find((l) => l.msg.startsWith('cannot prepare lab'));
    expect(failure).toMatchObject({ lab: 'alpha', err: 'image lab-orchestrator/tiny-vm is not built' });
    expect(lines.filter((l) => l.msg === 'lab prepared').map((l) => l.lab)).toEqual(['beta']);
    await job.stop();
  });

  it('stopped (lease lost), it forgets the queue and lets the preparation under way end; a new term starts afresh', async () => {
    const { preparer, job, finish, queued } = started({ alpha: 1, beta: 1 });
    await job.sweepNow();
    await job.stop();
    expect(queued()).toEqual([]);
    await finish(undefined);
    expect(preparer.calls).toEqual(['alpha@1']);
    job.start();
    await finish(undefined, undefined);
    expect(preparer.calls).toEqual(['alpha@1', 'alpha@1', 'beta@1']);
    await job.stop();
  });

  it('exists only for a runtime that prepares labs', () => {
    const log = createLogger('silent');
    expect(labPreparationFor(undefined, new Catalog(), log)).toBeUndefined();
    expect(labPreparationFor({ name: 'kubernetes' } as Runtime, new Catalog(), log)).toBeUndefined();
    const local = { name: 'local', prepare: async () => {} } as unknown as Runtime;
    expect(labPreparationFor(local, new Catalog(), log)).toBeInstanceOf(LabPreparation);
  });
});
