/**
 * @file The lab's clock in the workspace: how long a running lab has
 * before its limits stop (or pause) it, as a quiet clock in the bar; in the
 * warning phase (the server's `expiry.warnedAt`, or the lab's warning lead
 * reached before the server's next round says so), a banner with a live
 * countdown and "I am still here", which extends the run
 * (POST /instances/:id/extend) while extensions are left.
 *
 * A paused lab shows when its paused-age limit stops it unless resumed
 * (`expiry.cause` "paused"): no warning, no extension (neither moves it).
 *
 * The deadline is the server's (console traffic and checks move it there):
 * the page feeds every poll in through `update`; this only ticks the
 * seconds between polls. The countdown assumes the browser's clock agrees
 * with the server's (to a few seconds).
 */
import { api, errorMessage } from '../api.js';
import { h } from '../dom.js';
import { exact, extensionsLeftText, roughly } from './state-text.js';

/** What GET /instances/:id says of the limits of a running or paused instance (server/api/instances.ts). */
export interface InstanceExpiry {
  /** When the lab stops (or pauses) unless used, extended or (paused) resumed. */
  at: string;
  cause: 'ttl' | 'idle' | 'paused';
  /** The maximum age deadline. */
  expiresAt?: string;
  /** Set once the warning phase began. */
  warnedAt?: string;
  extensionsUsed: number;
  extensionsLeft: number;
}

/** The lab's limits as its definition gives them (seconds). */
export interface LabLimits {
  ttl?: number;
  idle?: number;
  onExpire?: 'stop' | 'pause';
}

/** The server's warning lead (domain/limits.ts: 10 % of the limit, at most LIMIT_WARNING, 300 s by default), in ms. */
function warningLeadMs(limitSeconds: number | undefined): number {
  if (!limitSeconds) return 60_000;
  return Math.max(1, Math.min(300, Math.ceil(limitSeconds * 0.1))) * 1000;
}

type Notice = { text: string; level: 'ok' | 'error' };

export class LabClock {
  /** The quiet clock and its extend button, for the instance bar. */
  readonly clock = h('span.lab-clock', { hidden: true });
  /** The warning banner, for under the bar. */
  readonly warning = h('div.banner.lab-warning', { role: 'alert', hidden: true });
  // Built once and only updated: an element replaced every second would swallow a click in between.
  private readonly clockText = h('span', { 'data-testid': 'lab-clock' });
  private readonly extendButton = h(
    'button.small',
    { type: 'button', 'data-action': 'extend', title: 'Add time to the lab (I am still here)' },
    '',
  );
  private readonly noExtensions = h('span.muted', { 'data-testid': 'no-extensions' }, extensionsLeftText(0));
  private readonly warningText = h('div.lab-warning-text', {});
  private readonly countdown = h('span.countdown', { 'data-testid': 'countdown' });
  private readonly headline = h('strong', {});
  private readonly advice = h('span', {});
  private readonly stillHere = h('button.primary', { type: 'button', 'data-action': 'still-here' }, '');
  private readonly noticeText = h('span.notice', { 'data-testid': 'clock-notice' });
  private expiry: InstanceExpiry | undefined;
  private limits: LabLimits = {};
  private notice: Notice | undefined;
  private noticeTimer: number | undefined;
  private extending = false;
  private readonly ticker: number;

  constructor(
    private readonly instanceId: string,
    /** Called after an extension, so the page shows the server's new state. */
    private readonly refresh: () => Promise<void>,
  ) {
    this.extendButton.addEventListener('click', () => void this.extend());
    this.stillHere.addEventListener('click', () => void this.extend());
    this.clock.append(this.clockText, this.extendButton, this.noExtensions);
    this.warningText.append(this.headline, this.advice);
    this.warning.append(this.warningText, this.stillHere, this.noticeText);
    this.ticker = window.setInterval(() => this.render(), 1000);
  }

  /** Takes the latest instance from the server (undefined: no limit ahead, no clock). */
  update(expiry: InstanceExpiry | undefined, limits: LabLimits = {}): void {
    this.expiry = expiry;
    this.limits = limits;
    this.render();
  }

  /** Whether the deadline is near (the page then polls more often). */
  get urgent(): boolean {
    return this.expiry !== undefined && !this.paused && (this.warned || this.left() < 2 * this.lead());
  }

  dispose(): void {
    window.clearInterval(this.ticker);
    window.clearTimeout(this.noticeTimer);
  }

  private left(): number {
    return this.expiry ? Date.parse(this.expiry.at) - Date.now() : Number.POSITIVE_INFINITY;
  }

  private lead(): number {
    return warningLeadMs(this.expiry?.cause === 'ttl' ? this.limits.ttl : this.limits.idle);
  }

  /** Paused: only the paused age counts, and nobody is there to warn. */
  private get paused(): boolean {
    return this.expiry?.cause === 'paused';
  }

  private get warned(): boolean {
    return (
      this.expiry !== undefined && !this.paused && (this.expiry.warnedAt !== undefined || this.left() <= this.lead())
    );
  }

  private get verb(): string {
    return this.limits.onExpire === 'pause' ? 'pauses' : 'stops';
  }

  private render(): void {
    const e = this.expiry;
    this.clock.hidden = !e;
    this.warning.hidden = !e || this.paused || (!this.warned && !this.notice);
    if (!e) return;
    const left = this.left();
    const verb = this.verb;
    const warned = this.warned;
    const canExtend = e.extensionsLeft > 0;

    const deadline = new Date(e.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    this.clockText.dataset.deadline = e.at;
    if (e.cause === 'paused') {
      // A paused-age limit is often a day or more: the day is said unless it is today.
      const when = dayAndTime(new Date(e.at), new Date());
      setText(this.clockText, `stops ${when} unless resumed`);
      this.clockText.title = `If it stays paused, the lab stops ${when}: its systems are removed, your progress is kept`;
      this.extendButton.hidden = true;
      this.noExtensions.hidden = true;
      return;
    }
    const cause = e.cause === 'ttl' ? 'when it reaches its maximum age' : 'when nobody uses it';
    setText(this.clockText, `${verb} in ${roughly(left)}`);
    this.clockText.title = `The lab ${verb} at ${deadline} ${cause}${canExtend ? '' : '; no extensions left'}`;
    // An extension only moves the maximum age; while the idle deadline is nearer, using the lab is what counts.
    this.extendButton.hidden = !canExtend || warned || e.cause === 'idle';
    this.extendButton.disabled = this.extending;
    setText(this.extendButton, `Extend (${e.extensionsLeft} left)`);
    this.noExtensions.hidden = canExtend;

    this.warning.classList.toggle('urgent', warned);
    this.warningText.hidden = !warned;
    this.stillHere.hidden = !warned || (!canExtend && e.cause === 'ttl');
    this.stillHere.disabled = this.extending;
    if (warned) {
      // The countdown element stays in place: screen readers and tests see one element that counts.
      if (this.countdown.parentElement !== this.headline)
        this.headline.replaceChildren(`Your lab ${verb} in `, this.countdown);
      setText(this.headline.firstChild as Text, `Your lab ${verb} in `);
      setText(this.countdown, exact(left));
      const why = e.cause === 'ttl' ? 'It reaches its maximum age.' : 'Nobody has used it for a while.';
      const what =
        e.cause === 'idle'
          ? 'Tell us you are still here, or work in a console.'
          : canExtend
            ? 'Save your work, or tell us you are still here.'
            : 'No extensions left: save your work now.';
      setText(this.advice, ` ${why} ${what}`);
      setText(
        this.stillHere,
        e.cause === 'ttl' && canExtend ? `I am still here: extend (${e.extensionsLeft} left)` : 'I am still here',
      );
    }
    this.noticeText.hidden = !this.notice;
    this.noticeText.className = `notice ${this.notice?.level ?? ''}`;
    setText(this.noticeText, this.notice?.text ?? '');
  }

  private async extend(): Promise<void> {
    if (this.extending) return;
    const before = this.expiry;
    this.extending = true;
    this.render();
    try {
      const answer = await api<{ expiry?: InstanceExpiry }>('POST', `/instances/${this.instanceId}/extend`);
      if (answer.expiry) this.expiry = answer.expiry;
      const at = answer.expiry
        ? new Date(answer.expiry.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
        : undefined;
      // No extension used: the idle deadline was the nearer one and the activity moved it.
      const extended = answer.expiry && before && answer.expiry.extensionsUsed > before.extensionsUsed;
      this.say({
        text: extended
          ? `Extended${at ? `: the lab now ${this.verb} at ${at}` : ''} (${extensionsLeftText(answer.expiry?.extensionsLeft ?? 0)}).`
          : `Noted: the idle timer starts again${at ? `; the lab ${this.verb} at ${at} if nobody uses it` : ''}.`,
        level: 'ok',
      });
    } catch (err) {
      this.say({ text: capitalise(errorMessage(err)), level: 'error' });
    } finally {
      this.extending = false;
    }
    await this.refresh();
  }

  private say(notice: Notice): void {
    this.notice = notice;
    window.clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => {
      this.notice = undefined;
      this.render();
    }, 10_000);
    this.render();
  }
}

/** "at 14:05", "tomorrow at 14:05", "on Fri 27 Nov at 14:05": when `at` comes, seen from `now` (local time). */
export function dayAndTime(at: Date, now: Date): string {
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  // Rounded: a day with a daylight-saving change is 23 or 25 hours long.
  const days = Math.round((startOfDay(at) - startOfDay(now)) / 86_400_000);
  if (days <= 0) return `at ${time}`;
  if (days === 1) return `tomorrow at ${time}`;
  return `on ${at.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' })} at ${time}`;
}

/** Changes a node's text only when it differs (no needless DOM mutation every second). */
function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
