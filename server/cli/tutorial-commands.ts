/**
 * @file The tutorial authors' commands under `lab-orchestrator lab`:
 * `test DIR` (prove every check on a real instance) and `from-killercoda SRC
 * DEST` (convert a Killercoda scenario). Exit codes as everywhere in the CLI:
 * 0 good, 1 a problem of the lab or the input, 2 any other failure.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { convertScenario } from '../domain/killercoda/convert.js';
import { type BundleResult, writeLabFolder } from '../domain/lab/bundle.js';
import { parseLab } from '../domain/lab/parse.js';
import { createLogger } from '../log.js';
import { createRuntime } from '../runtime/create.js';
import { InvalidInput } from './context.js';
import { testInstanceId, testLab } from './lab-test.js';

/** A lab whose steps were not all proven: exit 1 without a stack of errors. */
export class LabTestFailed extends InvalidInput {}

export function addTutorialCommands(
  lab: Command,
  readBundle: (source: string) => Promise<BundleResult>,
  printProblems: (problems: Array<{ path: string; message: string }>) => void,
): void {
  lab
    .command('test <source>')
    .description(
      'start the lab on the configured runtime (RUNTIME, DOCKER_HOST), check that every check fails before its solution and passes after it; always cleans up',
    )
    .option('--settle <seconds>', 'how long a check may take to pass after its solution', (v) => Number(v), 15)
    .action(async (source: string, opts: { settle: number }) => {
      const read = await readBundle(source);
      const parsed = read.ok ? parseLab(read.bundle) : read;
      if (!parsed.ok) {
        printProblems(parsed.problems);
        throw new InvalidInput(`${source}: ${parsed.problems.length} problem(s)`);
      }
      // The database is not needed to run a lab: any URI satisfies the configuration schema.
      const config = loadConfig({
        ...process.env,
        MONGODB_URI: process.env.MONGODB_URI || 'mongodb://127.0.0.1/unused',
      });
      const runtime = await createRuntime(config, createLogger('warn'));
      if (!runtime) throw new Error('RUNTIME=none: lab test needs a runtime (RUNTIME=local)');
      // Interrupted: remove the instance before leaving, as at the end.
      const instanceId = testInstanceId();
      const onSignal = () => {
        process.stdout.write(`interrupted: removing instance ${instanceId}\n`);
        void runtime.destroy(instanceId).finally(() => process.exit(2));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const report = await testLab(runtime, parsed.lab, {
          instanceId,
          settleSeconds: opts.settle,
          print: (line) => process.stdout.write(`${line}\n`),
        });
        if (!report.ok) throw new LabTestFailed(`${parsed.lab.name}: not every checked step is proven`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await runtime.close();
      }
    });

  lab
    .command('from-killercoda <scenario> <folder>')
    .description('convert a Killercoda scenario folder (index.json, step markdown, verify.sh) into a lab folder')
    .option('--image <image>', 'container image of the scenario host', 'lab-orchestrator/shell')
    .action(async (scenario: string, folder: string, opts: { image: string }) => {
      const files = await readTree(scenario);
      const result = convertScenario(files, { image: opts.image });
      if (!result.ok) {
        printProblems(result.problems);
        throw new InvalidInput(`${scenario}: not a Killercoda scenario this tool can read`);
      }
      await writeLabFolder(result.bundle, folder);
      for (const note of result.report) process.stdout.write(`not mapped: ${note}\n`);
      process.stdout.write(`${scenario}: lab "${result.lab.name}" written to ${folder}\n`);
    });
}

async function readTree(root: string): Promise<Map<string, Buffer>> {
  const info = await fs.stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new InvalidInput(`${root}: no such folder`);
  const files = new Map<string, Buffer>();
  const walk = async (dir: string) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.set(path.relative(root, full).split(path.sep).join('/'), await fs.readFile(full));
    }
  };
  await walk(root);
  return files;
}
