/**
 * @file `lab-orchestrator pool ...`: warm pools of an assignment from the
 * command line (as the built-in admin), the same rules as the API
 * (services/pools.ts). The server's pool job does the starting and
 * stopping; these commands only change what it aims for.
 */
import type { Command } from 'commander';
import { createLogger } from '../log.js';
import { loadSecretKey, SecretBox } from '../secrets.js';
import { limitSettings } from '../server.js';
import { InstanceLifecycle } from '../services/instances.js';
import { type PoolView, WarmPools } from '../services/pools.js';
import { CliContext, InvalidInput } from './context.js';

async function withPools(work: (pools: WarmPools, ctx: CliContext) => Promise<void>): Promise<void> {
  await CliContext.with(async (ctx) => {
    const log = createLogger('warn');
    const secrets = new SecretBox(loadSecretKey(ctx.config.SECRET_KEY, ctx.config.dataDir));
    // No runtime here: the server's pool job starts and stops members.
    const lifecycle = new InstanceLifecycle(ctx.store, undefined, secrets, log, limitSettings(ctx.config));
    await work(new WarmPools(ctx.store, lifecycle, undefined, secrets, log), ctx);
  });
}

const line = (v: PoolView) =>
  `${v.assignment}\t${v.lab}\tsize ${v.size}\tready ${v.ready}\tstarting ${v.starting}\tuntil ${v.until.toISOString()}` +
  `${v.failures ? `\tfailures ${v.failures}${v.lastError ? ` (${v.lastError})` : ''}` : ''}\n`;

export function addPoolCommands(program: Command): void {
  const pool = program.command('pool').description("warm pools: pre-started instances of an assignment's lab");
  pool
    .command('set <assignment>')
    .description('ask for SIZE pre-started instances until a time (launches of the assignment claim them)')
    .requiredOption('--size <n>', 'how many instances wait, 0 to 500', (v) => Number(v))
    .requiredOption('--until <time>', 'when unused ones are stopped: ISO 8601 (2026-11-25T14:00:00Z) or +2h / +90m')
    .action(async (assignment: string, opts: { size: number; until: string }) => {
      const until = parseUntil(opts.until);
      await withPools(async (pools, ctx) => {
        process.stdout.write(line(await pools.set(await ctx.admin(), assignment, { size: opts.size, until })));
      });
    });
  pool
    .command('show <assignment>')
    .description('size, ready and starting instances of the pool')
    .action(async (assignment: string) => {
      await withPools(async (pools, ctx) => {
        process.stdout.write(line(await pools.view(await ctx.admin(), assignment)));
      });
    });
  pool
    .command('list')
    .description('every warm pool')
    .action(async () => {
      await withPools(async (pools, ctx) => {
        for (const view of await pools.list(await ctx.admin())) process.stdout.write(line(view));
      });
    });
  pool
    .command('delete <assignment>')
    .description('remove the pool; the server stops its unused instances')
    .action(async (assignment: string) => {
      await withPools(async (pools, ctx) => {
        await pools.remove(await ctx.admin(), assignment);
        process.stdout.write(`warm pool of ${assignment} removed\n`);
      });
    });
}

/** An ISO time, or `+90m` / `+2h` / `+1d` from now. */
export function parseUntil(text: string): Date {
  const relative = /^\+(\d+)(m|h|d)$/.exec(text.trim());
  if (relative) {
    const unit = { m: 60, h: 3600, d: 86400 }[relative[2] as 'm' | 'h' | 'd'];
    return new Date(Date.now() + Number(relative[1]) * unit * 1000);
  }
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(at.getTime())) {
    throw new InvalidInput(
      `--until: expected an ISO 8601 time such as 2026-11-25T14:00:00Z, or +90m / +2h / +1d; got "${text}"`,
    );
  }
  return at;
}
