/**
 * @file QEMU Machine Protocol: the control channel of a VM (pause, resume,
 * power-off, status). One short connection per command.
 */
import { errorOf, UnixJsonConnection } from './unix-json.js';

const TIMEOUT_MS = 5000;

export async function qmp(socketPath: string, command: string, args?: Record<string, unknown>): Promise<unknown> {
  const conn = await UnixJsonConnection.open(socketPath, TIMEOUT_MS);
  try {
    await conn.read((m) => 'QMP' in m, TIMEOUT_MS);
    conn.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
    await answer(conn);
    conn.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
    return await answer(conn);
  } finally {
    conn.close();
  }
}

async function answer(conn: UnixJsonConnection): Promise<unknown> {
  const message = await conn.read((m) => 'return' in m || 'error' in m, TIMEOUT_MS);
  const error = errorOf(message);
  if (error) throw new Error(`QMP: ${error}`);
  return message.return;
}

/** `running`, `paused`, `shutdown`, ... (QMP query-status). */
export async function runState(socketPath: string): Promise<string> {
  const status = (await qmp(socketPath, 'query-status')) as { status?: unknown };
  return typeof status.status === 'string' ? status.status : 'unknown';
}
