/**
 * @file `lab-orchestrator lab test DIR`: proves a lab can be completed. It
 * starts one instance of the lab on the configured runtime and, step by step
 * in tutorial order, checks that the check fails, runs the step's solution,
 * and checks that the check passes. Authors run it while writing a lab; the
 * test suite runs it on the example labs. The instance is always removed.
 */
import { randomBytes } from 'node:crypto';
import type { LabDefinition, StepDefinition } from '../domain/lab/schema.js';
import { checkCommand } from '../domain/tutorial/checks.js';
import { errorMessage } from '../errors.js';
import type { ExecResult, InstanceSpec, Runtime } from '../runtime/runtime.js';
import { generatePassword } from '../secrets.js';

export type StepVerdict = 'proven' | 'ticked' | 'failed';

export interface StepReport {
  id: string;
  page: string;
  verdict: StepVerdict;
  /** What happened, in order ("fails before its solution", "passes after it"). */
  notes: string[];
}

export interface LabTestReport {
  lab: string;
  instanceId: string;
  steps: StepReport[];
  /** Every checked step proven. */
  ok: boolean;
}

export const testInstanceId = () => `labtest-${randomBytes(4).toString('hex')}`;

export interface LabTestOptions {
  instanceId?: string;
  /** Each line of progress as it happens. */
  print?: (line: string) => void;
  /** How long a check may take to pass after its solution (services start in the background). */
  settleSeconds?: number;
  /** How long the systems may take to become ready. */
  readySeconds?: number;
}

/** The instance spec of a throwaway test instance. */
export function testInstanceSpec(lab: LabDefinition, id: string): InstanceSpec {
  return {
    id,
    owner: 'lab-test',
    lab: { name: lab.name, version: 0, definition: lab },
    systems: lab.systems.map((definition) => ({
      definition,
      ...(definition.user && {
        credentials: {
          user: definition.user.name,
          password: definition.user.password === 'generate' ? generatePassword() : definition.user.password,
        },
      }),
    })),
  };
}

const describeResult = (r: ExecResult) =>
  r.timedOut ? 'timed out' : `exit ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').at(-1)}` : ''}`;

/**
 * Runs the lab test. Throws when the instance cannot be started (not the
 * lab's steps' fault: exit 2); a step that is not proven is in the report.
 */
export async function testLab(runtime: Runtime, lab: LabDefinition, opts: LabTestOptions = {}): Promise<LabTestReport> {
  const print = opts.print ?? (() => undefined);
  const id = opts.instanceId ?? testInstanceId();
  const spec = testInstanceSpec(lab, id);
  const report: LabTestReport = { lab: lab.name, instanceId: id, steps: [], ok: true };
  try {
    print(`${lab.name}: starting instance ${id} on the ${runtime.name} runtime`);
    await runtime.provision(spec);
    await waitReady(runtime, id, opts.readySeconds ?? 300);
    print(`${lab.name}: systems ready`);
    for (const page of lab.tutorial.pages) {
      for (const step of page.steps) {
        const result = await testStep(runtime, id, step, page.title, opts.settleSeconds ?? 15);
        report.steps.push(result);
        if (result.verdict === 'failed') report.ok = false;
        print(`  ${result.verdict.padEnd(7)} ${step.id}: ${result.notes.join('; ')}`);
      }
    }
    const checked = report.steps.filter((s) => s.verdict !== 'ticked');
    const proven = checked.filter((s) => s.verdict === 'proven').length;
    print(
      `${lab.name}: ${proven} of ${checked.length} checked step(s) proven${report.ok ? '' : ' — see the failures above'}`,
    );
    return report;
  } finally {
    await runtime
      .destroy(id)
      .catch((err) => print(`${lab.name}: could not remove instance ${id}: ${errorMessage(err)}`));
    print(`${lab.name}: instance ${id} removed`);
  }
}

async function testStep(
  runtime: Runtime,
  id: string,
  step: StepDefinition,
  page: string,
  settleSeconds: number,
): Promise<StepReport> {
  const report: StepReport = { id: step.id, page, verdict: 'failed', notes: [] };
  if (!step.check) {
    report.verdict = 'ticked';
    report.notes.push('ticked by the learner: nothing to check');
    return report;
  }
  const check = checkCommand(step.check);
  const runCheck = () => runtime.exec(id, check.system, check.argv, { timeout: check.timeout });
  const before = await runCheck();
  if (before.exitCode === 0 && !before.timedOut) {
    report.notes.push('passes before its solution ran: the check does not test the work');
    return report;
  }
  report.notes.push(`fails before its solution (${describeResult(before)})`);
  if (!step.solution) {
    report.notes.push('has no solution, so lab test cannot prove the check passes: add `solution`');
    return report;
  }
  const argv = typeof step.solution.run === 'string' ? ['sh', '-c', step.solution.run] : [...step.solution.run];
  const solved = await runtime.exec(id, step.solution.system, argv, { timeout: 120 });
  if (solved.exitCode !== 0 || solved.timedOut) {
    report.notes.push(`the solution failed on ${step.solution.system} (${describeResult(solved)})`);
    return report;
  }
  // A solution may start a service in the background: give the check a moment.
  const deadline = Date.now() + settleSeconds * 1000;
  let after = await runCheck();
  while ((after.exitCode !== 0 || after.timedOut) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    after = await runCheck();
  }
  if (after.exitCode !== 0 || after.timedOut) {
    report.notes.push(`still fails after its solution (${describeResult(after)})`);
    return report;
  }
  report.notes.push('passes after it');
  report.verdict = 'proven';
  return report;
}

async function waitReady(runtime: Runtime, id: string, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const status = await runtime.status(id);
    const failed = status.systems.find((s) => s.phase === 'failed' || s.phase === 'missing');
    if (failed) throw new Error(`system ${failed.name} is ${failed.phase}${failed.reason ? `: ${failed.reason}` : ''}`);
    if (status.systems.length > 0 && status.systems.every((s) => s.phase === 'ready')) return;
    if (Date.now() > deadline) {
      const phases = status.systems.map((s) => `${s.name} ${s.phase}`).join(', ');
      throw new Error(`the systems were not ready after ${seconds}s (${phases})`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
