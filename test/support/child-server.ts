/**
 * @file A server in a child process (`node --import tsx server/main.ts`), for
 * tests that kill -9 it or run two of them against one database.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Starts the server with `env` and resolves once it answers /readyz on `port`; fails with its last output if it exits. */
export async function startChildServer(
  env: NodeJS.ProcessEnv,
  port: number,
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: REPO,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (d) => {
    output += d;
  });
  proc.stderr?.on('data', (d) => {
    output += d;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `the server on port ${port} to answer /readyz`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`server exited: ${output.slice(-800)}`);
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    60,
  );
  return { proc, url };
}
