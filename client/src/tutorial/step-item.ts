/**
 * @file One step of a tutorial page in the pane: its text (safe inline HTML
 * from the server), its mark or tick box, points, the system it is on, the
 * Check button, the last check's message and the hint.
 */
import { h } from '../dom.js';
import type { StepState, StepView } from './view.js';

/** What the last check said about a step (the answer says more than the stored state). */
export interface CheckSaid {
  text: string;
  hintHtml?: string;
  passed: boolean;
}

export interface StepActions {
  said: CheckSaid | undefined;
  /** Checks and ticks only while the lab runs. */
  running: boolean;
  tick(done: boolean): void;
  check(button: HTMLButtonElement): void;
  showSystem(system: string): void;
}

export function stepItem(step: StepView, state: StepState | undefined, on: StepActions): HTMLElement {
  const done = state?.done === true;
  const said = on.said;
  const text = h('span.step-text', {});
  text.innerHTML = step.html; // safe inline HTML from the server
  const hint = done ? undefined : (said?.hintHtml ?? (said ? undefined : step.hintHtml));
  const hintEl = hint ? h('div.step-hint', {}) : null;
  if (hintEl && hint) hintEl.innerHTML = `<strong>Hint:</strong> ${hint}`;
  const control = step.checked
    ? h('span.step-mark', { 'aria-hidden': 'true' }, done ? '✔' : '○')
    : h('input', {
        type: 'checkbox',
        'aria-label': 'Done',
        checked: done,
        disabled: !on.running,
        onchange: (e: Event) => on.tick((e.target as HTMLInputElement).checked),
      });
  const message =
    said && !done
      ? h(`span.step-message${said.passed ? '' : '.failed'}`, {}, said.text)
      : state?.lastMessage && !done
        ? h('span.step-message.failed', {}, state.lastMessage)
        : null;
  return h(
    `li.step${done ? '.done' : ''}`,
    { 'data-step': step.id, 'data-done': done ? 'true' : 'false' },
    h(
      'div.step-line',
      {},
      control,
      text,
      step.points > 0 ? h('span.step-points.muted', {}, `${step.points} pt`) : null,
    ),
    h(
      'div.step-tools',
      {},
      step.system
        ? h(
            'button.link.small',
            { type: 'button', title: `Show ${step.system}`, onclick: () => on.showSystem(step.system!) },
            `on ${step.system}`,
          )
        : null,
      step.checked && !done
        ? h(
            'button.small',
            {
              type: 'button',
              'data-check': step.id,
              disabled: !on.running,
              onclick: (e: Event) => on.check(e.target as HTMLButtonElement),
            },
            'Check',
          )
        : null,
      message,
    ),
    hintEl,
  );
}
