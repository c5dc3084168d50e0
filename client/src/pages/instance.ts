/**
 * @file The workspace of one instance: state and provisioning progress,
 * the lifecycle buttons, a tab per system with its consoles (terminal,
 * desktop) and credentials, and the tutorial pane beside them.
 *
 * The page polls GET /api/v1/instances/:id (fast while the lab starts or
 * stops or nears its limits, slower otherwise). A running lab shows the
 * time left before its limits stop it, a paused one when it stops unless
 * resumed (countdown.ts); a queued one its place in the queue. Consoles exist only while the instance runs;
 * each one is kept while the user switches tabs (a shell is not restarted
 * by looking at another system) and reconnects by itself after a blip.
 */
import { api, errorMessage, type InstanceDetail, type LabDefinition, type SystemDefinition } from '../api.js';
import type { ConsoleKind, StatusLevel } from '../consoles/connection.js';
import { DesktopConsole } from '../consoles/desktop.js';
import { TerminalConsole } from '../consoles/terminal.js';
import { clear, h } from '../dom.js';
import { link } from '../router.js';
import { TutorialPane } from '../tutorial/pane.js';
import { type InstanceExpiry, LabClock, type LabLimits } from './countdown.js';
import { actionsFor, phaseProgress, queueText, stateLabel } from './state-text.js';

type Console = TerminalConsole | DesktopConsole;

/** What the page reads of GET /instances/:id beyond the shared types: the limits' clock and the queue. */
type Detail = InstanceDetail & { expiry?: InstanceExpiry; queuePosition?: number };
/** What the page reads of the lab's limits (the lab definition as the API gives it). */
type LabWithLimits = LabDefinition & { limits?: LabLimits };

const BANNER: Partial<Record<InstanceDetail['state'], { text: string; level: StatusLevel }>> = {
  provisioning: { text: 'Your lab is starting: the systems are being created.', level: 'info' },
  paused: { text: 'Your lab is paused: its systems keep their state. Resume it to go on working.', level: 'info' },
  stopping: { text: 'Your lab is stopping…', level: 'info' },
  stopped: { text: 'This lab is stopped: its systems are gone. Start it again for fresh ones.', level: 'info' },
};

/** The banner of a state, with the reason the limits (or an administrator) gave when they paused or stopped it. */
function bannerOf(detail: Detail): { text: string; level: StatusLevel } | undefined {
  switch (detail.state) {
    case 'failed':
      return {
        text: `Your lab failed: ${detail.reason ?? 'no reason given'}. Reset it to try again, or stop it.`,
        level: 'error',
      };
    case 'requested':
      return { text: queueText(detail.queuePosition), level: 'info' };
    case 'paused':
      return detail.reason
        ? {
            text: `Your lab was paused (${detail.reason}): its systems keep their state. Resume it to go on working.`,
            level: 'info',
          }
        : BANNER.paused;
    case 'stopped':
      return detail.reason
        ? {
            text: `This lab was stopped (${detail.reason}): its systems are gone, your progress is kept. Start it again for fresh ones.`,
            level: 'info',
          }
        : BANNER.stopped;
    default:
      return BANNER[detail.state];
  }
}

const BANNER_ACTION: Partial<Record<InstanceDetail['state'], 'start' | 'resume' | 'reset'>> = {
  paused: 'resume',
  stopped: 'start',
  failed: 'reset',
};

export function instancePage(root: HTMLElement, id: string): () => void {
  let disposed = false;
  let timer: number | undefined;
  let lab: LabWithLimits | undefined;
  let instance: Detail | undefined;
  let activeSystem: string | undefined;
  const activeConsole = new Map<string, ConsoleKind>();
  const consoles = new Map<string, Console>();

  const title = h('h1', {}, 'Lab');
  const state = h('span.state', { 'data-testid': 'state' });
  const buttons = h('div.actions', {});
  const banner = h('div.banner', { role: 'status', hidden: true });
  const clock = new LabClock(id, () => refresh());
  const progress = h('ul.progress', { hidden: true });
  const tabs = h('nav.tabs', { role: 'tablist', 'aria-label': 'Systems' });
  const systemBar = h('div.system-bar', {});
  const consoleStatus = h('div.console-status', { role: 'status' });
  const consoleHost = h('div.console-host', {});
  // TUTORIAL PANE: the tutorial helper renders the lab's pages here
  // (server/domain/tutorial/render.ts gives safe HTML). Until then: the lab's description.
  const tutorial = h('aside#tutorial-pane.tutorial-pane', { 'data-slot': 'tutorial', 'aria-label': 'Tutorial' });
  const pane = new TutorialPane(tutorial, id, {
    showSystem: (system) => {
      activeSystem = system;
      renderTabs();
      showConsole();
    },
    typeInTerminal: (system, text) => {
      const target = system ?? activeSystem;
      if (!target) return;
      activeSystem = target;
      activeConsole.set(target, 'terminal');
      renderTabs();
      showConsole();
      const terminal = consoles.get(key(target, 'terminal'));
      if (terminal instanceof TerminalConsole) terminal.type(text);
    },
    sendToDesktop: (text) => {
      const system = activeSystem;
      if (!system || activeConsole.get(system) !== 'desktop') return false;
      const desktop = consoles.get(key(system, 'desktop'));
      if (!(desktop instanceof DesktopConsole)) return false;
      desktop.paste(text);
      return true;
    },
  });

  clear(
    root,
    h(
      'main.workspace',
      {},
      h(
        'header.instance-bar',
        {},
        h('a.back', { href: '/', onclick: link('/') }, '← Labs'),
        title,
        state,
        clock.clock,
        buttons,
      ),
      clock.warning,
      banner,
      progress,
      h('div.workspace-body', {}, tutorial, h('section.consoles', {}, tabs, systemBar, consoleStatus, consoleHost)),
    ),
  );

  const key = (system: string, kind: ConsoleKind) => `${system}/${kind}`;

  function setConsoleStatus(text: string, level: StatusLevel, action?: { label: string; run: () => void }) {
    consoleStatus.className = `console-status ${level}`;
    clear(
      consoleStatus,
      h('span', { 'data-testid': 'console-status' }, text),
      action ? h('button.small', { type: 'button', onclick: action.run }, action.label) : null,
    );
  }

  function disposeConsoles() {
    for (const c of consoles.values()) c.dispose();
    consoles.clear();
  }

  function showConsole() {
    const system = lab?.systems.find((s) => s.name === activeSystem);
    if (!system || instance?.state !== 'running') {
      for (const c of consoles.values()) c.element.hidden = true;
      return;
    }
    const kind = activeConsole.get(system.name) ?? system.consoles[0] ?? 'terminal';
    const k = key(system.name, kind);
    let current = consoles.get(k);
    if (!current) {
      const status = (text: string, level: StatusLevel, action?: { label: string; run: () => void }) => {
        if (consoles.get(key(activeSystem ?? '', activeConsole.get(activeSystem ?? '') ?? 'terminal')) === current) {
          setConsoleStatus(text, level, action);
        }
      };
      current =
        kind === 'terminal'
          ? new TerminalConsole(id, system.name, status)
          : new DesktopConsole(id, system.name, status);
      consoles.set(k, current);
      consoleHost.append(current.element);
    }
    for (const c of consoles.values()) c.element.hidden = c !== current;
    requestAnimationFrame(() => {
      current?.refit();
      current?.focus();
    });
  }

  function renderSystemBar(system: SystemDefinition) {
    const kind = activeConsole.get(system.name) ?? system.consoles[0] ?? 'terminal';
    const credential = instance?.credentials.find((c) => c.system === system.name);
    clear(
      systemBar,
      system.consoles.length > 1
        ? h(
            'div.segmented',
            { role: 'group', 'aria-label': 'Console' },
            ...system.consoles.map((c) =>
              h(
                `button.small${c === kind ? '.selected' : ''}`,
                {
                  type: 'button',
                  'data-console-switch': c,
                  'aria-pressed': c === kind ? 'true' : 'false',
                  onclick: () => {
                    activeConsole.set(system.name, c);
                    renderSystemBar(system);
                    showConsole();
                  },
                },
                c === 'terminal' ? 'Terminal' : 'Desktop',
              ),
            ),
          )
        : null,
      credential
        ? h(
            'span.credentials',
            { 'data-testid': 'credentials' },
            'Sign in as ',
            h('code', {}, credential.user),
            ' / ',
            h('code', {}, credential.password),
          )
        : null,
      ...(system.ports ?? []).map((port) =>
        h('button.small', { type: 'button', onclick: () => void openWebApp(system.name, port) }, `Web app :${port}`),
      ),
    );
  }

  async function openWebApp(system: string, port: number) {
    const tab = window.open('about:blank', '_blank');
    try {
      const t = await api<{ url: string }>('POST', `/instances/${id}/tickets`, { system, console: 'http', port });
      if (tab) tab.location.href = t.url;
    } catch (err) {
      tab?.close();
      setConsoleStatus(errorMessage(err), 'error');
    }
  }

  function renderTabs() {
    if (!lab) return;
    clear(
      tabs,
      ...lab.systems.map((s) =>
        h(
          `button.tab${s.name === activeSystem ? '.selected' : ''}`,
          {
            type: 'button',
            role: 'tab',
            'aria-selected': s.name === activeSystem ? 'true' : 'false',
            'data-system': s.name,
            onclick: () => {
              activeSystem = s.name;
              renderTabs();
              showConsole();
            },
          },
          s.name,
          h('span.muted', {}, ` ${s.kind === 'vm' ? 'VM' : 'container'}`),
        ),
      ),
    );
    const system = lab.systems.find((s) => s.name === activeSystem);
    if (system) renderSystemBar(system);
  }

  async function act(action: string) {
    for (const b of buttons.querySelectorAll('button')) b.disabled = true;
    try {
      await api('POST', `/instances/${id}/${action}`);
    } catch (err) {
      showBanner(errorMessage(err), 'error');
    }
    await refresh();
  }

  function showBanner(text: string, level: StatusLevel, action?: string) {
    banner.hidden = false;
    banner.className = `banner ${level}`;
    clear(
      banner,
      h('span', { 'data-testid': 'banner' }, text),
      action
        ? h(
            'button.primary',
            { type: 'button', onclick: () => void act(action) },
            action[0]!.toUpperCase() + action.slice(1),
          )
        : null,
    );
  }

  function render(detail: Detail) {
    const previous = instance?.state;
    instance = detail;
    state.textContent = stateLabel(detail.state);
    state.className = `state state-${detail.state}`;
    clear(
      buttons,
      ...actionsFor(detail.state).map((a) =>
        h(
          `button${a === 'stop' ? '.danger' : ''}`,
          { type: 'button', 'data-action': a, onclick: () => void act(a) },
          a[0]!.toUpperCase() + a.slice(1),
        ),
      ),
    );
    // The server gives the limits' next stop while running or paused (absent when there is none).
    clock.update(detail.state === 'running' || detail.state === 'paused' ? detail.expiry : undefined, lab?.limits);
    const message = bannerOf(detail);
    if (message) showBanner(message.text, message.level, BANNER_ACTION[detail.state]);
    else banner.hidden = true;

    const starting = detail.state === 'provisioning' || detail.state === 'requested';
    progress.hidden = !starting;
    if (starting) {
      clear(
        progress,
        ...(detail.systems.length
          ? detail.systems
          : (lab?.systems ?? []).map((s) => ({ name: s.name, phase: 'pending' }))
        ).map((s) =>
          h(
            'li',
            {},
            h('span.name', {}, s.name),
            h('progress', { max: 1, value: phaseProgress(s.phase) }),
            h('span.muted', {}, s.phase),
          ),
        ),
      );
    }
    if (previous === 'running' && detail.state !== 'running') disposeConsoles();
    if (detail.state !== 'running') setConsoleStatus('The consoles open when the lab is running.', 'info');
    renderTabs();
    showConsole();
    pane.setRunning(detail.state === 'running');
  }

  async function refresh() {
    if (disposed) return;
    window.clearTimeout(timer);
    try {
      const detail = await api<Detail>('GET', `/instances/${id}`);
      if (!lab) {
        const version = await api<{ definition: LabWithLimits }>(
          'GET',
          `/labs/${detail.lab}/versions/${detail.labVersion}`,
        );
        lab = version.definition;
        activeSystem = lab.systems[0]?.name;
        title.textContent = lab.title;
        document.title = `${lab.title} · Lab Orchestrator`;
      }
      if (!disposed) render(detail);
    } catch (err) {
      showBanner(errorMessage(err), 'error');
    }
    const busy = ['requested', 'provisioning', 'stopping'].includes(instance?.state ?? 'requested');
    // Near a limit the deadline moves with activity elsewhere (consoles, checks): look more often.
    if (!disposed) timer = window.setTimeout(() => void refresh(), busy ? 1500 : clock.urgent ? 2000 : 5000);
  }

  void refresh();
  return () => {
    disposed = true;
    window.clearTimeout(timer);
    pane.dispose();
    clock.dispose();
    disposeConsoles();
  };
}
