/**
 * @file Import of Killercoda-style scenarios (pure): a folder with
 * `index.json`, step markdown, `verify.sh` and `background.sh` becomes a lab
 * of this tool, plus a report of what could not be mapped. Killercoda runs
 * every scenario on hosts of its own (`host01`, or `controlplane`/`node01`);
 * here the scenario gets one container system named `host01`.
 *
 * What maps: intro/step/finish texts → pages; a step's `verify` → the step's
 * check (exit 0 = done, as in Killercoda); steps without one → ticked steps;
 * code actions `{{exec}}`, `{{execute}}` → `run=host01`, `{{copy}}` → `copy`;
 * files under `assets/` → the lab's assets. What does not (reported):
 * background/foreground scripts, files copied onto hosts, inline actions in
 * running text, `{{exec interrupt}}`'s Ctrl+C, Killercoda's own placeholders
 * (`{{TRAFFIC_HOST1_80}}`), images other than a plain Linux host.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import type { Problem } from '../../errors.js';
import type { LabBundle } from '../lab/bundle.js';
import { parseLab } from '../lab/parse.js';
import type { LabDefinition, LabInput } from '../lab/schema.js';
import { VARIABLE_PATTERN } from '../lab/variables.js';

export const HOST = 'host01';

const text = z.strictObject({ text: z.string().optional() }).loose();
const scenarioSchema = z
  .object({
    title: z.string().min(1, 'expected the title of the scenario'),
    description: z.string().optional(),
    details: z
      .object({
        intro: text.extend({ background: z.string().optional(), foreground: z.string().optional() }).optional(),
        steps: z
          .array(
            z
              .object({
                title: z.string().min(1, 'expected the title of the step'),
                text: z.string().optional(),
                verify: z.string().optional(),
                background: z.string().optional(),
                foreground: z.string().optional(),
              })
              .loose(),
          )
          .default([]),
        finish: text.optional(),
        assets: z.record(z.string(), z.array(z.unknown())).optional(),
      })
      .loose(),
    backend: z.object({ imageid: z.string().optional() }).loose().optional(),
  })
  .loose();

export interface ConvertOptions {
  /** Container image of the `host01` system. */
  image: string;
  /** Lab name; made from the title when absent. */
  name?: string;
}

export type ConvertResult =
  | { ok: true; lab: LabDefinition; bundle: LabBundle; report: string[] }
  | { ok: false; problems: Problem[] };

const PLAIN_HOSTS = /^(ubuntu|debian|alpine)/;

export function convertScenario(files: ReadonlyMap<string, Buffer>, options: ConvertOptions): ConvertResult {
  const index = files.get('index.json');
  if (!index) return { ok: false, problems: [{ path: 'index.json', message: 'missing: a scenario needs index.json' }] };
  let json: unknown;
  try {
    json = JSON.parse(index.toString('utf8'));
  } catch (err) {
    return { ok: false, problems: [{ path: 'index.json', message: `not JSON: ${(err as Error).message}` }] };
  }
  const parsed = scenarioSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => ({
        path: ['index.json', ...i.path.map(String)].join('.'),
        message: i.message,
      })),
    };
  }
  const scenario = parsed.data;
  const details = scenario.details ?? { steps: [] };
  const report: string[] = [];
  const problems: Problem[] = [];
  const out = new Map<string, Buffer>();
  const read = (path: string | undefined, what: string): string | undefined => {
    if (path === undefined) return undefined;
    const file = files.get(path.replace(/^\.\//, ''));
    if (!file) problems.push({ path, message: `${what}: no such file in the scenario` });
    return file?.toString('utf8');
  };

  const imageid = scenario.backend?.imageid;
  if (imageid !== undefined && !PLAIN_HOSTS.test(imageid))
    report.push(`backend.imageid "${imageid}": runs as one container (${options.image}) named ${HOST}`);
  if (details.assets !== undefined)
    report.push('details.assets (files copied onto the hosts): put them into the image instead');
  if (details.intro?.background) report.push(`intro background script ${details.intro.background}: not run`);
  if (details.intro?.foreground) report.push(`intro foreground script ${details.intro.foreground}: not run`);

  const pages: NonNullable<LabInput['tutorial']>['pages'] = [];
  const addPage = (
    title: string,
    source: string | undefined,
    file: string,
    steps: NonNullable<typeof pages>[number]['steps'],
  ) => {
    const body = `pages/${file}`;
    out.set(body, Buffer.from(convertMarkdown(source ?? `# ${title}\n`, file, report)));
    pages.push({ title, body, ...(steps ? { steps } : {}) });
  };

  const intro = read(details.intro?.text, 'details.intro.text');
  if (intro !== undefined) addPage('Introduction', intro, '00-intro.md', []);
  details.steps.forEach((step, i) => {
    const n = i + 1;
    const where = `details.steps[${i}]`;
    const verify = read(step.verify, `${where}.verify`);
    if (step.background) report.push(`${where}.background ${step.background}: not run`);
    if (step.foreground) report.push(`${where}.foreground ${step.foreground}: not run`);
    const id = `step${n}`;
    const check =
      verify === undefined
        ? undefined
        : { system: HOST, run: /^#!.*\bbash\b/.test(verify) ? ['bash', '-c', verify] : verify };
    if (verify === undefined) report.push(`${where} "${step.title}" has no verify script: a step the learner ticks`);
    addPage(step.title, read(step.text, `${where}.text`), `${String(n).padStart(2, '0')}-step.md`, [
      { id, text: check ? step.title : `Done: ${step.title}`, points: 1, ...(check && { check }) },
    ]);
  });
  const finish = read(details.finish?.text, 'details.finish.text');
  if (finish !== undefined) addPage('Finish', finish, '99-finish.md', []);
  if (problems.length > 0) return { ok: false, problems };

  for (const [path, content] of files) if (path.startsWith('assets/')) out.set(path, content);

  const lab: LabInput = {
    name: options.name ?? labName(scenario.title),
    title: scenario.title,
    ...(scenario.description !== undefined && { description: scenario.description }),
    systems: [{ name: HOST, kind: 'container', image: options.image, consoles: ['terminal'] }],
    tutorial: { pages },
  };
  const header = `# Converted from the Killercoda scenario "${scenario.title}" by lab-orchestrator lab from-killercoda.\n`;
  out.set('lab.yaml', Buffer.from(header + stringify(lab, { lineWidth: 0 })));
  const result = parseLab({ files: out });
  if (!result.ok) return { ok: false, problems: result.problems };
  return { ok: true, lab: result.lab, bundle: result.bundle, report };
}

/** A DNS label from a title: "Learn Git: Branches!" → "learn-git-branches". */
export function labName(title: string): string {
  const slug = title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug || 'killercoda-scenario';
}

const CLOSING_WITH_ACTION = /^(\s*)(`{3,}|~{3,})\s*\{\{\s*(exec(?:ute)?(?:\s+interrupt)?|copy)\s*\}\}\s*$/;
const INLINE_ALONE = /^\s*`([^`\n]+)`\s*\{\{\s*(exec(?:ute)?(?:\s+interrupt)?|copy)\s*\}\}\s*$/;
const INLINE = /`([^`\n]+)`\s*\{\{\s*(exec(?:ute)?(?:\s+interrupt)?|copy)\s*\}\}/g;
/** What this tool would read as a variable (`{{.Name}}` of Go templates is not one). */
const OTHER_PLACEHOLDER = VARIABLE_PATTERN;

const words = (action: string) => (action.startsWith('copy') ? 'copy' : `run=${HOST}`);

/** Killercoda markdown → ours: actions on fences, inline actions alone on a line as fences, placeholders inert. */
export function convertMarkdown(source: string, file: string, report: string[]): string {
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  let fenceStart = -1;
  let fence = '';
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (fenceStart < 0) {
      const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(line);
      if (open) {
        fenceStart = out.length;
        fence = open[2]!;
        out.push(line);
        return;
      }
      const alone = INLINE_ALONE.exec(line);
      if (alone) {
        if (alone[2]!.includes('interrupt'))
          report.push(`${where}: "exec interrupt" runs without pressing Ctrl+C first`);
        out.push(`\`\`\`bash ${words(alone[2]!)}`, alone[1]!, '```');
        return;
      }
      let converted = line.replace(INLINE, (_all, code: string) => {
        report.push(`${where}: an action inside running text became plain code (\`${code}\`)`);
        return `\`${code}\``;
      });
      converted = converted.replace(OTHER_PLACEHOLDER, (all, name: string) => {
        report.push(`${where}: Killercoda placeholder {{${name}}} has no equivalent; shown as written`);
        return `&#123;${all.slice(1)}`;
      });
      out.push(converted);
      return;
    }
    const close = CLOSING_WITH_ACTION.exec(line);
    if (close && close[2]!.startsWith(fence[0]!) && close[2]!.length >= fence.length) {
      const action = close[3]!;
      if (action.includes('interrupt')) report.push(`${where}: "exec interrupt" runs without pressing Ctrl+C first`);
      out[fenceStart] =
        `${out[fenceStart]!.trimEnd()}${/^(\s*)(`{3,}|~{3,})$/.test(out[fenceStart]!.trimEnd()) ? 'bash' : ''} ${words(action)}`;
      out.push(`${close[1]}${close[2]}`);
      fenceStart = -1;
      return;
    }
    if (new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(line)) fenceStart = -1;
    // Code shows no character references: a placeholder there becomes <NAME>, for the learner to fill in.
    out.push(
      line.replace(OTHER_PLACEHOLDER, (_all, name: string) => {
        report.push(`${where}: Killercoda placeholder {{${name}}} in code became <${name}>`);
        return `<${name}>`;
      }),
    );
  });
  return out.join('\n');
}
