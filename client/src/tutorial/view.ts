/**
 * @file What the server answers about an instance's tutorial
 * (server/api/tutorials.ts): pages of safe HTML, their steps, the stored
 * step states and the progress tallies.
 */
export interface StepState {
  done: boolean;
  at: string;
  by: 'check' | 'tick';
  attempts: number;
  lastMessage?: string;
}
export interface Tally {
  stepsDone: number;
  stepsTotal: number;
  pointsEarned: number;
  pointsPossible: number;
}
export interface ProgressView {
  progress: Tally & { pages: Array<Tally & { index: number; title: string }>; score: number };
  steps: Record<string, StepState>;
}
export interface StepView {
  id: string;
  html: string;
  checked: boolean;
  system?: string;
  points: number;
  state?: StepState;
  hintHtml?: string;
}
export interface TutorialView extends ProgressView {
  lab: { name: string; version: number; title: string };
  pages: Array<{ index: number; title: string; html: string; steps: StepView[] }>;
}
export interface CheckAnswer extends ProgressView {
  outcome: { passed: boolean; message: string; hintHtml?: string };
}
