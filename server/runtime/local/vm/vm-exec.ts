/**
 * @file Commands in a running VM (step checks, the tutorial's run buttons)
 * through its guest agent: no network path into the lab and no SSH key,
 * and it works before the learner has logged in anywhere.
 */
import { type ExecOptions, type ExecResult, RuntimeError } from '../../runtime.js';
import { GuestAgent } from './guest-agent.js';
import type { KeyedLock } from './keyed-lock.js';
import { files, type VmPaths } from './qemu-args.js';
import { runState } from './qmp.js';
import { vmKey } from './vm-state.js';

/** Runs `argv` in the VM `systemName` (as root, or `opts.user`); a guest that cannot answer is `unavailable`. */
export async function execInVm(
  paths: VmPaths,
  instanceId: string,
  systemName: string,
  channels: KeyedLock,
  argv: string[],
  opts: ExecOptions,
): Promise<ExecResult> {
  const key = vmKey(instanceId, systemName);
  const command = opts.user && opts.user !== 'root' ? asUser(opts.user, argv) : argv;
  try {
    return await channels.run(`agent:${key}`, () =>
      new GuestAgent(files(paths).agent).exec(command, {
        timeout: opts.timeout ?? 30,
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      }),
    );
  } catch (err) {
    const state = await runState(files(paths).qmp).catch(() => 'unknown');
    if (state === 'paused') throw new RuntimeError(`VM ${systemName} is paused: resume it first`, 'unavailable');
    throw new RuntimeError(
      `VM ${systemName} did not run the command: its guest agent does not answer (${(err as Error).message})`,
      'unavailable',
      { cause: err },
    );
  }
}

/** Runs argv as another user through `su` (util-linux and busybox agree on `su -s SH -c CMD USER`). */
function asUser(user: string, argv: string[]): string[] {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
    throw new RuntimeError(`exec user "${user}" is not a Unix user name`, 'bad-spec');
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return ['su', '-s', '/bin/sh', '-c', `exec ${quoted}`, user];
}
