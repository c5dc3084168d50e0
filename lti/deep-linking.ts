/**
 * @file Deep linking (LTI Deep Linking 2.0): an instructor picks a lab; the
 * answer is one `ltiResourceLink` whose custom parameter `lab` names it and
 * whose line item's scoreMaximum is the lab's total points (the same rule as
 * the progress score: points, or steps when no step has points), signed by
 * ltijs with the registration's key.
 */
import { computeProgress } from '../server/domain/tutorial/progress.js';
import type { Store } from '../server/store/store.js';
import type { LabChoice } from './pages.js';

export async function labChoices(store: Store): Promise<LabChoice[]> {
  const labs = await store.labs.list();
  const choices: LabChoice[] = [];
  for (const lab of labs) {
    const version = await store.labs.version(lab.name);
    if (!version) continue;
    choices.push({ name: lab.name, title: lab.title, points: labPoints(version.definition.tutorial) });
  }
  return choices;
}

export function labPoints(tutorial: Parameters<typeof computeProgress>[0]): number {
  return computeProgress(tutorial, {}).scoreMaximum;
}

export interface ResourceLinkItem {
  type: 'ltiResourceLink';
  title: string;
  url: string;
  custom: { lab: string };
  lineItem: { scoreMaximum: number; label: string; resourceId: string; tag: string };
}

export function resourceLinkItem(publicUrl: string, lab: LabChoice): ResourceLinkItem {
  return {
    type: 'ltiResourceLink',
    title: lab.title,
    url: `${publicUrl}/lti`,
    custom: { lab: lab.name },
    lineItem: { scoreMaximum: lab.points, label: lab.title, resourceId: lab.name, tag: 'lab-orchestrator' },
  };
}
