/**
 * @file The REST API as the client sees it: one fetch wrapper that sends the
 * session's Bearer token, and one error type with the server's message (a
 * message a user can act on) and status.
 */
import { currentSession, forgetSession } from './session.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A message for any thrown value. */
export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = currentSession()?.token;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'the server cannot be reached: check your connection');
  }
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  if (!res.ok) {
    if (res.status === 401 && token) {
      forgetSession();
      window.dispatchEvent(new Event('signed-out'));
    }
    throw new ApiError(res.status, data?.error?.message ?? `the server answered ${res.status}`);
  }
  return data as T;
}

export interface LabSummary {
  name: string;
  title: string;
  latestVersion: number;
}

export interface SystemDefinition {
  name: string;
  kind: 'container' | 'vm';
  consoles: Array<'terminal' | 'desktop'>;
  ports?: number[];
  user?: { name: string };
}

export interface LabDefinition {
  name: string;
  title: string;
  description?: string;
  systems: SystemDefinition[];
}

export type InstanceState = 'requested' | 'provisioning' | 'running' | 'paused' | 'stopping' | 'stopped' | 'failed';

export interface SystemStatus {
  name: string;
  kind: string;
  phase: string;
  reason?: string;
  consoles: string[];
}

export interface Instance {
  id: string;
  lab: string;
  labVersion: number;
  state: InstanceState;
  reason?: string;
  ownerId: string;
  createdAt: string;
  lastActivityAt: string;
}

export interface InstanceDetail extends Instance {
  systems: SystemStatus[];
  statusError?: string;
  credentials: Array<{ system: string; user: string; password: string }>;
}

export interface Ticket {
  ticket: string;
  url: string;
  expiresAt: string;
}
