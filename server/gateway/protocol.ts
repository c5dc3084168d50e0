/**
 * @file The gateway's wire protocol, in one place: URL paths, WebSocket close
 * codes with the reasons a user reads, and the terminal's control message.
 * The browser client imports this file too (client/src/gateway.ts), so both
 * sides agree by construction.
 *
 * Terminal socket (`.../terminal?ticket=T`):
 *   browser → server  binary frame: keystrokes (bytes for the PTY)
 *                     text frame:   {"type":"resize","cols":N,"rows":N}
 *   server → browser  binary frame: PTY output bytes
 * Desktop socket (`.../desktop?ticket=T`): raw RFB (VNC) bytes both ways, binary
 *   frames only (what noVNC speaks).
 * HTTP proxy (`.../http/PORT/?ticket=T` once, then `.../http/PORT/s/SESSION/...`):
 *   see server/gateway/http-proxy.ts.
 */

export const CONSOLES = ['terminal', 'desktop', 'http'] as const;
export type GatewayConsole = (typeof CONSOLES)[number];

/** Close codes (4000–4999 are the application's; 1011 is the standard "server error"). */
export const CLOSE = {
  /** The console ended on its own (the shell exited). */
  ended: 1000,
  /** The server shuts down. */
  goingAway: 1001,
  ticket: 4401,
  origin: 4403,
  notFound: 4404,
  notRunning: 4409,
  runtime: 1011,
} as const;

/** Codes after which reconnecting with a fresh ticket is pointless until the user acts. */
export const FINAL_CLOSE_CODES: readonly number[] = [CLOSE.origin, CLOSE.notFound, CLOSE.notRunning];

export const RESIZE = 'resize';
export interface ResizeMessage {
  type: typeof RESIZE;
  cols: number;
  rows: number;
}

/** Terminal sizes outside these bounds are refused (a resize is not a way to make the PTY allocate). */
export const MAX_COLS = 1000;
export const MAX_ROWS = 500;

export function parseControl(text: string): ResizeMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const m = value as Partial<ResizeMessage> | null;
  if (m?.type !== RESIZE) return undefined;
  const ok = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  return ok(m.cols, MAX_COLS) && ok(m.rows, MAX_ROWS) ? { type: RESIZE, cols: m.cols!, rows: m.rows! } : undefined;
}

export const GATEWAY_PREFIX = '/gateway/';

/** `/gateway/instances/ID/systems/NAME/terminal` etc.; undefined for any other path. */
export function consolePath(id: string, system: string, console: GatewayConsole, port?: number): string {
  const base = `/gateway/instances/${encodeURIComponent(id)}/systems/${encodeURIComponent(system)}`;
  return console === 'http' ? `${base}/http/${port}/` : `${base}/${console}`;
}
