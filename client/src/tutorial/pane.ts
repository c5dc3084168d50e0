/**
 * @file The tutorial pane of the workspace: the lab's pages (safe HTML from
 * the server, server/domain/tutorial/render.ts), page navigation, the steps
 * of the page with their state, Check buttons, ticks, hints, progress bars,
 * and the code actions of the pages ("Run on client" types into that
 * system's terminal through the workspace; "Copy" to the clipboard).
 *
 * While the lab runs, the pane tells the server every few seconds which page
 * is open (POST …/tutorial/open); the server checks that page's steps in the
 * background and the answer carries the progress, so a step turns done
 * without a reload. Resizable by its edge, collapsible by its button.
 */
import { api, errorMessage } from '../api.js';
import { clear, h } from '../dom.js';
import { type CheckSaid, stepItem } from './step-item.js';
import './tutorial.css';
import type { CheckAnswer, ProgressView, TutorialView } from './view.js';

/** What the pane needs of the workspace. */
export interface TutorialHost {
  /** Types text into the terminal of a system (null: the one shown) and shows it. */
  typeInTerminal(system: string | null, text: string): void;
  /** Shows a system's tab ("this step is on server"). */
  showSystem(system: string): void;
  /** Puts text into the clipboard of the desktop shown now, if one is; false otherwise. */
  sendToDesktop?(text: string): boolean;
}

const HEARTBEAT_MS = 3000;
const WIDTH_KEY = 'tutorial-pane-width';

export class TutorialPane {
  private view: TutorialView | undefined;
  private pageIndex: number;
  private running = false;
  private timer: number | undefined;
  private disposed = false;
  /** Messages of the last check per step (the answer says more than the stored state). */
  private readonly said = new Map<string, CheckSaid>();

  private readonly nav = h('nav.tutorial-nav', { 'aria-label': 'Tutorial pages' });
  private readonly overall = h('div.tutorial-overall', {});
  private readonly body = h('article.tutorial-page', {});
  private readonly steps = h('ol.tutorial-steps', { 'data-testid': 'tutorial-steps' });
  private readonly status = h('p.tutorial-status', { role: 'status' });

  constructor(
    private readonly root: HTMLElement,
    private readonly instanceId: string,
    private readonly host: TutorialHost,
  ) {
    this.pageIndex = Number(sessionStorage.getItem(this.pageKey) ?? 0) || 0;
    const toggle = h(
      'button.small.tutorial-toggle',
      {
        type: 'button',
        'aria-expanded': 'true',
        title: 'Hide or show the tutorial',
        onclick: () => {
          const collapsed = root.classList.toggle('collapsed');
          toggle.setAttribute('aria-expanded', collapsed ? 'false' : 'true');
          toggle.textContent = collapsed ? '»' : '«';
          window.dispatchEvent(new Event('resize')); // the consoles refit
        },
      },
      '«',
    );
    const handle = h('div.tutorial-resize', {
      role: 'separator',
      'aria-orientation': 'vertical',
      title: 'Drag to resize',
    });
    handle.addEventListener('pointerdown', (e) => this.startResize(e, handle));
    const saved = localStorage.getItem(WIDTH_KEY);
    if (saved) root.style.setProperty('--tutorial-width', saved);
    clear(
      root,
      // The overall progress stays in sight in the head; the page scrolls below it.
      h('div.tutorial-head', {}, toggle, h('h2', {}, 'Tutorial'), this.overall),
      h('div.tutorial-scroll', {}, this.nav, this.body, this.steps, this.status),
      handle,
    );
    this.body.addEventListener('click', (e) => void this.codeAction(e));
  }

  private get pageKey() {
    return `tutorial-page:${this.instanceId}`;
  }

  /** The workspace says whether the lab runs (checks and heartbeats only then). */
  setRunning(running: boolean): void {
    const was = this.running;
    this.running = running;
    if (!this.view) void this.load();
    else if (running && !was) this.heartbeat();
    else this.renderSteps();
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.timer);
  }

  private async load(): Promise<void> {
    try {
      this.view = await api<TutorialView>('GET', `/instances/${this.instanceId}/tutorial`);
      if (this.disposed) return;
      if (this.pageIndex >= this.view.pages.length) this.pageIndex = 0;
      if (this.view.pages.length === 0) {
        clear(this.body, h('p.muted', {}, 'This lab has no tutorial: the consoles are yours to explore.'));
        return;
      }
      this.renderPage();
      this.heartbeat();
    } catch (err) {
      this.status.textContent = `The tutorial could not be loaded: ${errorMessage(err)}`;
    }
  }

  private show(index: number): void {
    this.pageIndex = index;
    sessionStorage.setItem(this.pageKey, String(index));
    this.said.clear();
    this.renderPage();
    this.root.querySelector('.tutorial-scroll')?.scrollTo(0, 0);
    this.heartbeat();
  }

  private renderPage(): void {
    const view = this.view;
    if (!view) return;
    const page = view.pages[this.pageIndex]!;
    const last = view.pages.length - 1;
    clear(
      this.nav,
      h(
        'button.small',
        { type: 'button', disabled: this.pageIndex === 0, onclick: () => this.show(this.pageIndex - 1) },
        '‹ Back',
      ),
      this.pageSelect(),
      h(
        'button.small',
        {
          type: 'button',
          'data-testid': 'tutorial-next',
          disabled: this.pageIndex === last,
          onclick: () => this.show(this.pageIndex + 1),
        },
        'Next ›',
      ),
    );
    // Safe HTML: rendered and sanitized by the server (no script, no handlers, checked URLs).
    this.body.innerHTML = page.html;
    this.renderSteps();
  }

  private pageSelect(): HTMLSelectElement {
    const view = this.view!;
    const select = h('select.tutorial-select', {
      'aria-label': 'Page',
      onchange: () => this.show(Number(select.value)),
    });
    view.pages.forEach((p, i) => {
      const tally = view.progress.pages[i];
      const label = `${i + 1}. ${p.title}${tally && tally.stepsTotal > 0 ? ` (${tally.stepsDone}/${tally.stepsTotal})` : ''}`;
      select.append(h('option', { value: i, selected: i === this.pageIndex }, label));
    });
    return select;
  }

  /** Progress bars and the step list, from the latest states (the page HTML is left alone). */
  private renderSteps(): void {
    const view = this.view;
    if (!view || view.pages.length === 0) return;
    const all = view.progress;
    const pageTally = all.pages[this.pageIndex];
    clear(
      this.overall,
      h('progress', {
        'data-testid': 'tutorial-progress',
        max: Math.max(all.stepsTotal, 1),
        value: all.stepsDone,
        'aria-label': 'Steps done in the whole tutorial',
      }),
      h(
        'span.muted',
        { 'data-testid': 'tutorial-progress-text' },
        `${all.stepsDone} of ${all.stepsTotal} steps done · score ${Math.round(all.score * 100)}%`,
      ),
    );
    const page = view.pages[this.pageIndex]!;
    clear(
      this.steps,
      page.steps.length > 0 && pageTally
        ? h(
            'li.tutorial-page-progress',
            {},
            h('progress', {
              'data-testid': 'page-progress',
              max: Math.max(pageTally.stepsTotal, 1),
              value: pageTally.stepsDone,
            }),
            h('span.muted', {}, `${pageTally.stepsDone} of ${pageTally.stepsTotal} on this page`),
          )
        : null,
      ...page.steps.map((step) =>
        stepItem(step, view.steps[step.id], {
          said: this.said.get(step.id),
          running: this.running,
          tick: (done) => void this.tick(step.id, done),
          check: (button) => void this.check(step.id, button),
          showSystem: (system) => this.host.showSystem(system),
        }),
      ),
    );
    const select = this.nav.querySelector('select');
    if (select) select.replaceWith(this.pageSelect());
  }

  private apply(progress: ProgressView): void {
    if (!this.view) return;
    this.view.progress = progress.progress;
    this.view.steps = progress.steps;
    this.renderSteps();
  }

  private async check(stepId: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    button.textContent = 'Checking…';
    try {
      const answer = await api<CheckAnswer>('POST', `/instances/${this.instanceId}/tutorial/steps/${stepId}/check`);
      this.said.set(stepId, {
        text: answer.outcome.passed ? 'Done!' : answer.outcome.message,
        passed: answer.outcome.passed,
        ...(answer.outcome.hintHtml !== undefined && { hintHtml: answer.outcome.hintHtml }),
      });
      this.apply(answer);
    } catch (err) {
      this.said.set(stepId, { text: errorMessage(err), passed: false });
      this.renderSteps();
    }
  }

  private async tick(stepId: string, done: boolean): Promise<void> {
    try {
      this.apply(
        await api<ProgressView>('POST', `/instances/${this.instanceId}/tutorial/steps/${stepId}/tick`, { done }),
      );
    } catch (err) {
      this.status.textContent = errorMessage(err);
      this.renderSteps();
    }
  }

  /** Tells the server which page is open and takes the progress from the answer; again in a few seconds. */
  private heartbeat(): void {
    window.clearTimeout(this.timer);
    if (this.disposed || !this.running || !this.view || this.view.pages.length === 0) return;
    const send = async () => {
      if (document.visibilityState === 'visible') {
        try {
          this.apply(
            await api<ProgressView>('POST', `/instances/${this.instanceId}/tutorial/open`, { page: this.pageIndex }),
          );
          this.status.textContent = '';
        } catch (err) {
          this.status.textContent = `Progress could not be updated: ${errorMessage(err)}`;
        }
      }
      if (!this.disposed && this.running) this.timer = window.setTimeout(() => void send(), HEARTBEAT_MS);
    };
    void send();
  }

  /** The buttons of code blocks (`data-action` from the renderer; no handler is ever in the page). */
  private async codeAction(event: Event): Promise<void> {
    const button = (event.target as Element).closest('button[data-action]');
    if (!(button instanceof HTMLButtonElement) || !this.body.contains(button)) return;
    const code = button.closest('.code-action')?.querySelector('pre')?.textContent ?? '';
    const text = code.replace(/\n$/, '');
    if (button.dataset.action === 'copy') {
      const ok = await navigator.clipboard?.writeText(text).then(
        () => true,
        () => false,
      );
      // The browser's clipboard does not reach a VNC desktop: the desktop shown gets the text too.
      const desktop = this.host.sendToDesktop?.(text) ?? false;
      flash(button, desktop ? 'Copied, also to the desktop' : ok ? 'Copied' : 'Copy failed');
    } else if (button.dataset.action === 'run') {
      if (!this.running) return flash(button, 'Start the lab first');
      this.host.typeInTerminal(button.dataset.system ?? null, `${text}\n`);
      flash(button, 'Sent');
    }
  }

  private startResize(start: PointerEvent, handle: HTMLElement): void {
    start.preventDefault();
    handle.setPointerCapture(start.pointerId);
    const left = this.root.getBoundingClientRect().left;
    const move = (e: PointerEvent) => {
      const width = Math.min(Math.max(e.clientX - left, 220), window.innerWidth * 0.7);
      this.root.style.setProperty('--tutorial-width', `${width}px`);
    };
    const up = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      localStorage.setItem(WIDTH_KEY, this.root.style.getPropertyValue('--tutorial-width'));
      window.dispatchEvent(new Event('resize'));
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
  }
}

function flash(button: HTMLButtonElement, text: string): void {
  const label = button.textContent;
  button.textContent = text;
  window.setTimeout(() => {
    button.textContent = label;
  }, 1200);
}
