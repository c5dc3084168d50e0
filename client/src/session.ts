/**
 * @file The browser session: a short-lived API token (POST /api/v1/session),
 * kept in sessionStorage (per tab, gone when the tab closes) rather than a
 * cookie, because cookies inside LMS iframes are unreliable.
 */
const KEY = 'lab-orchestrator.session';

export interface SessionUser {
  id: string;
  name: string;
  admin: boolean;
}

interface Stored {
  token: string;
  expiresAt: string;
  user: SessionUser;
}

export function currentSession(): Stored | undefined {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as Stored;
    if (new Date(s.expiresAt).getTime() > Date.now()) return s;
  } catch {
    // unreadable: forget it
  }
  sessionStorage.removeItem(KEY);
  return undefined;
}

export function saveSession(s: Stored): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function forgetSession(): void {
  sessionStorage.removeItem(KEY);
}
