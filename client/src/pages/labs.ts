/** @file Home: the labs a signed-in user can start, and their instances. */
import { ApiError, api, errorMessage, type Instance, type LabDefinition, type LabSummary } from '../api.js';
import { clear, h } from '../dom.js';
import { link, navigate } from '../router.js';
import { taughtCoursesSection } from './progress-courses.js';
import { stateLabel } from './state-text.js';

export function labsPage(root: HTMLElement): () => void {
  const error = h('p.error', { role: 'alert' });
  const labList = h('ul.cards', {}, h('li.muted', {}, 'Loading labs…'));
  const instanceList = h('ul.rows', {});
  clear(
    root,
    h(
      'main',
      {},
      error,
      taughtCoursesSection(),
      h('section', {}, h('h2', {}, 'Your labs'), instanceList),
      h('section', {}, h('h2', {}, 'Start a lab'), labList),
    ),
  );

  async function start(lab: string, button: HTMLButtonElement) {
    button.disabled = true;
    error.textContent = '';
    try {
      const created = await api<Instance>('POST', '/instances', { lab });
      navigate(`/instances/${created.id}`);
    } catch (err) {
      error.textContent = errorMessage(err);
      button.disabled = false;
      if (err instanceof ApiError && err.status === 409) void load();
    }
  }

  async function load() {
    try {
      const [labs, instances] = await Promise.all([
        api<LabSummary[]>('GET', '/labs'),
        api<Instance[]>('GET', '/instances?mine=1'), // an instructor's course instances are on the progress page
      ]);
      const live = instances.filter((i) => i.state !== 'stopped');
      clear(
        instanceList,
        ...(live.length
          ? live.map((i) =>
              h(
                'li',
                {},
                h('a', { href: `/instances/${i.id}`, onclick: link(`/instances/${i.id}`) }, i.lab),
                h(`span.state.state-${i.state}`, {}, stateLabel(i.state)),
                h('span.muted', {}, `started ${new Date(i.createdAt).toLocaleString()}`),
              ),
            )
          : [h('li.muted', {}, 'None yet: start one below.')]),
      );
      const details = await Promise.all(
        labs.map((l) => api<{ definition: LabDefinition }>('GET', `/labs/${l.name}`).catch(() => undefined)),
      );
      clear(
        labList,
        ...(labs.length
          ? labs.map((lab, n) => {
              const definition = details[n]?.definition;
              const button = h('button.primary', { type: 'button', 'data-lab': lab.name }, 'Start');
              button.addEventListener('click', () => void start(lab.name, button));
              return h(
                'li.card',
                {},
                h('h3', {}, lab.title),
                h('p', {}, definition?.description ?? ''),
                h(
                  'p.muted',
                  {},
                  definition ? definition.systems.map((s) => `${s.name} (${s.kind})`).join(' · ') : lab.name,
                ),
                button,
              );
            })
          : [h('li.muted', {}, 'No labs yet: an admin imports them (lab-orchestrator lab import FOLDER).')]),
      );
    } catch (err) {
      error.textContent = errorMessage(err);
    }
  }
  void load();
  return () => {};
}
