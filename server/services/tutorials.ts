/**
 * @file The tutorial of an instance: its pages rendered with the instance's
 * values, step checks through `Runtime.exec`, ticks, background checks of the
 * open page, and the progress that results. The rules are pure in
 * domain/tutorial/; this service reads and writes the store around them and
 * emits one ProgressEvent per change of progress, after it is stored.
 *
 * Progress belongs to the instance's owner (the learner whose grade it is),
 * whoever presses Check: an instructor helping in a learner's lab moves the
 * learner's progress, not a second one of their own.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../domain/access.js';
import type { LabDefinition, StepDefinition } from '../domain/lab/schema.js';
import type { VariableValues } from '../domain/lab/variables.js';
import {
  type CheckDefinition,
  type CheckOutcome,
  checkCommand,
  checkErrorOutcome,
  interpretCheckResult,
} from '../domain/tutorial/checks.js';
import {
  applyStepResult,
  computeProgress,
  type Progress,
  type ProgressEvent,
  type ProgressListener,
  progressEvent,
  type StepResult,
  type StepState,
  type StepStates,
  statesAfterReset,
} from '../domain/tutorial/progress.js';
import { type RenderOptions, renderInline, renderPage } from '../domain/tutorial/render.js';
import { assetUrlUnder } from '../domain/tutorial/urls.js';
import { badRequest, conflict, HttpError, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { SecretBox } from '../secrets.js';
import type { InstanceRecord } from '../store/instances.js';
import type { LabVersion } from '../store/labs.js';
import type { ProgressRecord } from '../store/progress.js';
import type { Store } from '../store/store.js';
import type { InstanceLifecycle } from './instances.js';

export interface StepView {
  id: string;
  /** The step's text as safe inline HTML. */
  html: string;
  /** Done by its check (true) or by a tick (false). */
  checked: boolean;
  /** The system the check runs on ("this step is on `server`"). */
  system?: string;
  points: number;
  state?: StepState;
  /** The author's hint (inline HTML), while the last check the learner asked for failed. */
  hintHtml?: string;
}

export interface PageView {
  index: number;
  title: string;
  html: string;
  steps: StepView[];
}

export interface ProgressView {
  instanceId: string;
  progress: Progress;
  steps: StepStates;
  updatedAt?: string;
}

export interface TutorialView extends ProgressView {
  lab: { name: string; version: number; title: string; trusted: boolean };
  state: InstanceRecord['state'];
  systems: Array<{ name: string; kind: string; consoles: string[] }>;
  pages: PageView[];
}

export interface CheckAnswer extends ProgressView {
  step: string;
  outcome: CheckOutcome & { hintHtml?: string };
  state?: StepState;
}

export interface TutorialDeps {
  store: Store;
  lifecycle: InstanceLifecycle;
  runtime: Runtime | undefined;
  secrets: SecretBox;
  events: ProgressListener;
  /** The server's secret key: signatures that let a browser fetch a lab version's assets derive from it. */
  secretKey: Buffer;
  log: Logger;
  now?: () => number;
}

export class TutorialService {
  private readonly labs = new Map<string, LabVersion>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Pages the workspaces show now: the background checks' input. */
  readonly openPages = new Map<string, { index: number; seenAt: number }>();
  private readonly now: () => number;
  /** Signs asset URLs (an <img> sends no Bearer token). */
  private readonly assetKey: Buffer;

  constructor(private readonly deps: TutorialDeps) {
    this.assetKey = createHmac('sha256', deps.secretKey).update('lab assets').digest();
    this.now = deps.now ?? Date.now;
  }

  /** The rendered tutorial of an instance with the learner's progress. */
  async view(p: Principal, instanceId: string): Promise<TutorialView> {
    const instance = await this.deps.lifecycle.reachable(p, instanceId);
    const version = await this.labVersion(instance);
    const lab = version.definition;
    const summary = await this.deps.store.labs.get(instance.labName);
    const trusted = summary?.trusted ?? false;
    const variables = await this.variables(instance, lab);
    const record = await this.progressOf(instance);
    const files = new Map(version.files.map((f) => [f.path, f.content]));
    const base = `/api/v1/labs/${encodeURIComponent(lab.name)}/versions/${version.version}`;
    const toAsset = assetUrlUnder(base);
    const access = this.assetAccess(lab.name, version.version);
    const options: RenderOptions = {
      variables,
      assetUrl: (path) => `${toAsset(path)}?access=${access}`,
      trusted,
      systems: lab.systems.map((s) => s.name),
    };
    const pages = lab.tutorial.pages.map((page, index): PageView => {
      const source = files.get(page.body)?.toString('utf8') ?? '';
      return {
        index,
        title: page.title,
        html: renderPage(source, { ...options, pagePath: page.body }).html,
        steps: page.steps.map((step) => this.stepView(step, record.steps, options)),
      };
    });
    return {
      ...this.progressView(instance, lab, record),
      lab: { name: lab.name, version: version.version, title: lab.title, trusted },
      state: instance.state,
      systems: lab.systems.map((s) => ({ name: s.name, kind: s.kind, consoles: s.consoles })),
      pages,
    };
  }

  /** Step states and progress only: what the workspace polls. */
  async progress(p: Principal, instanceId: string): Promise<ProgressView> {
    const instance = await this.deps.lifecycle.reachable(p, instanceId);
    const lab = (await this.labVersion(instance)).definition;
    return this.progressView(instance, lab, await this.progressOf(instance));
  }

  /** Runs a step's check now (the learner pressed Check). */
  async check(p: Principal, instanceId: string, stepId: string): Promise<CheckAnswer> {
    const instance = await this.deps.lifecycle.reachable(p, instanceId);
    const lab = (await this.labVersion(instance)).definition;
    const step = findStep(lab, stepId);
    if (!step.check) throw badRequest(`step "${stepId}" has no check; tick it when it is done`);
    if (instance.state !== 'running')
      throw conflict(`the instance is ${instance.state}: steps are checked only while it runs`);
    await this.noteLearner(p, instance);
    const outcome = await this.runCheck(instance, step, step.check);
    const at = new Date(this.now()).toISOString();
    const record = outcome.couldNotRun
      ? await this.progressOf(instance)
      : await this.apply(instance, lab, {
          kind: 'check',
          stepId,
          passed: outcome.passed,
          message: outcome.message,
          trigger: 'user',
          at,
        });
    const variables = await this.variables(instance, lab);
    const hintHtml =
      outcome.hint !== undefined ? renderInline(outcome.hint, this.inlineOptions(lab, variables)).html : undefined;
    const { couldNotRun: _, ...said } = outcome;
    return {
      ...this.progressView(instance, lab, record),
      step: stepId,
      outcome: { ...said, ...(hintHtml !== undefined && { hintHtml }) },
      ...(Object.hasOwn(record.steps, stepId) && { state: record.steps[stepId] }),
    };
  }

  /** A learner's tick (done) or untick of a step without a check. */
  async tick(p: Principal, instanceId: string, stepId: string, done: boolean): Promise<ProgressView> {
    const instance = await this.deps.lifecycle.reachable(p, instanceId);
    const lab = (await this.labVersion(instance)).definition;
    findStep(lab, stepId);
    await this.noteLearner(p, instance);
    const record = await this.apply(instance, lab, {
      kind: 'tick',
      stepId,
      done,
      at: new Date(this.now()).toISOString(),
    });
    return this.progressView(instance, lab, record);
  }

  /** The owner pressing Check or ticking a step is here: the idle timer restarts (an instructor looking is not). */
  private async noteLearner(p: Principal, instance: InstanceRecord): Promise<void> {
    if (instance.ownerId === p.user.id) await this.deps.lifecycle.noteActivity(instance.id);
  }

  /**
   * The workspace shows this page (it says so every few seconds): its
   * checked steps are checked in the background meanwhile. Answers the
   * progress, so the same call is the workspace's poll.
   */
  async pageOpen(p: Principal, instanceId: string, index: number): Promise<ProgressView> {
    const instance = await this.deps.lifecycle.reachable(p, instanceId);
    const lab = (await this.labVersion(instance)).definition;
    if (index >= lab.tutorial.pages.length)
      throw badRequest(`page: the tutorial has ${lab.tutorial.pages.length} page(s); ${index} is not one of them`);
    this.openPages.set(instance.id, { index, seenAt: this.now() });
    return this.progressView(instance, lab, await this.progressOf(instance));
  }

  /**
   * Called by the instance lifecycle when a reset is accepted: clears the
   * progress when the lab says so (`keepProgressOnReset: false`).
   */
  async afterReset(instance: InstanceRecord): Promise<void> {
    const lab = (await this.labVersion(instance)).definition;
    await this.apply(instance, lab, 'reset');
  }

  /** The signature that lets a browser fetch the assets of one lab version. */
  assetAccess(labName: string, version: number): string {
    return createHmac('sha256', this.assetKey).update(`assets:${labName}:${version}`).digest('base64url');
  }

  assetAccessValid(labName: string, version: number, given: string | undefined): boolean {
    if (!given) return false;
    const want = Buffer.from(this.assetAccess(labName, version));
    const got = Buffer.from(given);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  /** A lab version (immutable, so cached). */
  async labVersion(instance: Pick<InstanceRecord, 'labName' | 'labVersion'>): Promise<LabVersion> {
    const key = `${instance.labName}@${instance.labVersion}`;
    const cached = this.labs.get(key);
    if (cached) return cached;
    const version = await this.deps.store.labs.version(instance.labName, instance.labVersion);
    if (!version) throw notFound(`version ${instance.labVersion} of lab "${instance.labName}"`);
    if (this.labs.size >= 64) this.labs.delete(this.labs.keys().next().value!);
    this.labs.set(key, version);
    return version;
  }

  /**
   * What a background round needs of an instance (undefined when it is
   * gone): the instance, its lab and the learner's step states.
   */
  async backgroundInput(
    instanceId: string,
  ): Promise<{ instance: InstanceRecord; lab: LabDefinition; states: StepStates } | undefined> {
    const instance = await this.deps.store.instances.get(instanceId);
    if (!instance) return undefined;
    const lab = (await this.labVersion(instance)).definition;
    return { instance, lab, states: (await this.progressOf(instance)).steps };
  }

  /** Runs checks nobody asked for (jobs/background-checks.ts): only a pass changes anything. */
  async checkInBackground(
    instance: InstanceRecord,
    lab: LabDefinition,
    steps: Array<{ id: string; check: CheckDefinition }>,
  ): Promise<void> {
    for (const { id, check } of steps) {
      const step = findStep(lab, id);
      const outcome = await this.runCheck(instance, step, check);
      if (outcome.couldNotRun || !outcome.passed) continue; // failed background checks change nothing
      const at = new Date(this.now()).toISOString();
      await this.apply(instance, lab, { kind: 'check', stepId: id, passed: true, trigger: 'background', at });
    }
  }

  private async runCheck(
    instance: InstanceRecord,
    step: StepDefinition,
    check: CheckDefinition,
  ): Promise<CheckOutcome & { couldNotRun?: boolean }> {
    const command = checkCommand(check);
    try {
      if (!this.deps.runtime) throw new Error('no runtime is configured');
      const result = await this.deps.runtime.exec(instance.id, command.system, command.argv, {
        timeout: command.timeout,
      });
      return interpretCheckResult(step, check, result);
    } catch (err) {
      return { ...checkErrorOutcome(check, err), couldNotRun: true };
    }
  }

  /**
   * Applies a step result (or a reset) to the stored states: read, apply,
   * conditional write, again on a conflict; then one event if the done steps
   * changed. Serialised per instance in this process, so events of one
   * instance leave in order.
   */
  private apply(instance: InstanceRecord, lab: LabDefinition, result: StepResult | 'reset'): Promise<ProgressRecord> {
    return this.exclusive(instance.id, async () => {
      for (let attempt = 0; attempt < 8; attempt++) {
        const read = await this.progressOf(instance);
        let next: { states: StepStates; changed: boolean; progressChanged: boolean; progress: Progress };
        if (result === 'reset') {
          const after = statesAfterReset(lab.tutorial, read.steps);
          next = { ...after, changed: after.states !== read.steps };
        } else {
          const update = applyStepResult(lab.tutorial, read.steps, result);
          if (update.kind === 'refused') throw badRequest(update.message);
          next = update;
        }
        if (!next.changed) return read;
        const at = new Date(this.now());
        const event = next.progressChanged
          ? progressEvent(
              {
                instanceId: instance.id,
                userId: instance.ownerId,
                labName: instance.labName,
                labVersion: instance.labVersion,
                ...(instance.assignmentId !== undefined && { assignmentId: instance.assignmentId }),
              },
              next.progress,
              at.toISOString(),
            )
          : undefined;
        if (!(await this.deps.store.progress.save(read, next.states, next.progress.score, at, event))) continue;
        if (event) await this.deliver(instance.id, instance.ownerId, event);
        return { ...read, steps: next.states, score: next.progress.score, revision: read.revision + 1, updatedAt: at };
      }
      throw new HttpError(503, 'the progress of this instance changes too fast; try again');
    });
  }

  /** Hands an event to the listeners; it stays stored (and is sent again) until they all took it. */
  private async deliver(instanceId: string, userId: string, event: ProgressEvent): Promise<void> {
    try {
      await this.deps.events.progressChanged(event);
      await this.deps.store.progress.delivered(instanceId, userId, event);
    } catch (err) {
      this.deps.log.warn({ err, instance: instanceId }, 'progress event kept, to be sent again');
    }
  }

  /**
   * Sends again the events that were stored but not delivered: the process
   * stopped between the write and the delivery, or a listener failed. The
   * background job calls it at start and then now and then.
   */
  async redeliver(): Promise<void> {
    for (const { instanceId, userId } of await this.deps.store.progress.undelivered()) {
      await this.exclusive(instanceId, async () => {
        const event = await this.deps.store.progress.pendingEvent(instanceId, userId);
        if (event) await this.deliver(instanceId, userId, event);
      });
    }
  }

  private async exclusive<T>(key: string, job: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(job, job);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  private progressOf(instance: InstanceRecord): Promise<ProgressRecord> {
    return this.deps.store.progress.get(instance.id, instance.ownerId, instance.labName);
  }

  private progressView(instance: InstanceRecord, lab: LabDefinition, record: ProgressRecord): ProgressView {
    return {
      instanceId: instance.id,
      progress: computeProgress(lab.tutorial, record.steps),
      steps: record.steps,
      ...(record.updatedAt && { updatedAt: record.updatedAt.toISOString() }),
    };
  }

  private stepView(step: StepDefinition, states: StepStates, options: RenderOptions): StepView {
    const state = Object.hasOwn(states, step.id) ? states[step.id] : undefined;
    const failing = state !== undefined && !state.done && state.attempts > 0;
    return {
      id: step.id,
      html: renderInline(step.text, options).html,
      checked: step.check !== undefined,
      ...(step.check && { system: step.check.system }),
      points: step.points,
      ...(state && { state }),
      ...(failing && step.hint !== undefined && { hintHtml: renderInline(step.hint, options).html }),
    };
  }

  private inlineOptions(lab: LabDefinition, variables: VariableValues): RenderOptions {
    return { variables, assetUrl: () => '#', systems: lab.systems.map((s) => s.name) };
  }

  private async variables(instance: InstanceRecord, lab: LabDefinition): Promise<VariableValues> {
    const owner = await this.deps.store.users.get(instance.ownerId);
    const systems: Record<string, { user?: string; password?: string }> = {};
    for (const system of lab.systems) {
      const cred = instance.credentials.find((c) => c.system === system.name);
      systems[system.name] = cred
        ? { user: cred.user, password: this.deps.secrets.decrypt(cred.passwordEnc) }
        : system.user
          ? { user: system.user.name }
          : {};
    }
    return {
      user: { name: owner?.name ?? '' },
      instance: { id: instance.id },
      systems,
      vars: lab.variables ?? {},
    };
  }
}

function findStep(lab: LabDefinition, stepId: string): StepDefinition {
  for (const page of lab.tutorial.pages) {
    const step = page.steps.find((s) => s.id === stepId);
    if (step) return step;
  }
  throw notFound(`step "${stepId}" in lab "${lab.name}"`);
}
