/**
 * @file The lab catalog: every way a lab comes in (API JSON, zip, folder,
 * CLI) ends in `importBundle`, which validates with the one parser and
 * stores nothing unless the whole lab is valid. A stored new version is told
 * to the import listener (the server's lab preparation, jobs/lab-preparation.ts).
 */
import { canAuthorLabs, canEditLab, type Principal } from '../domain/access.js';
import { bundleDigest, type LabBundle } from '../domain/lab/bundle.js';
import { parseLab } from '../domain/lab/parse.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import { LabExistsError, type LabVersion } from '../store/labs.js';
import type { Store } from '../store/store.js';

/** Told after an import stored a new version (e.g. to prepare its VMs); must not throw. */
export type LabImportListener = (lab: { name: string; version: number }) => void;

export class LabCatalog {
  constructor(
    private readonly store: Store,
    private readonly onImported?: LabImportListener,
  ) {}

  /** Validates a bundle; throws a 400 listing every problem. */
  validate(bundle: LabBundle) {
    const result = parseLab(bundle);
    if (!result.ok) {
      throw badRequest(`the lab is invalid: ${result.problems.length} problem(s)`, result.problems);
    }
    return result;
  }

  /**
   * Stores a lab from its files: a new lab, or (with `asNewVersion`) a new
   * version of an existing one. `expectName` refuses a bundle of another lab.
   */
  async importBundle(
    p: Principal,
    bundle: LabBundle,
    opts: { asNewVersion: boolean; expectName?: string },
  ): Promise<{ name: string; version: number; changed: boolean }> {
    if (!canAuthorLabs(p)) throw forbidden('only instructors and admins can create labs');
    const { lab, bundle: parsed } = this.validate(bundle);
    if (opts.expectName && lab.name !== opts.expectName) {
      throw badRequest(`the lab is named "${lab.name}", not "${opts.expectName}"`, [
        { path: 'lab.yaml name', message: `expected "${opts.expectName}" (the lab in the URL)` },
      ]);
    }
    const existing = await this.store.labs.get(lab.name);
    if (existing && !opts.asNewVersion) {
      throw conflict(`a lab named "${lab.name}" exists already; post to /api/v1/labs/${lab.name}/versions instead`);
    }
    if (opts.asNewVersion && !existing) throw notFound(`lab "${lab.name}"`);
    if (existing && !canEditLab(p, existing)) throw forbidden(`lab "${lab.name}" belongs to another author`);
    const files = [...parsed.files].map(([path, content]) => ({ path, content }));
    try {
      const saved = await this.store.labs.save(
        { definition: lab, files, digest: bundleDigest(parsed), userId: p.user.id },
        { orNewVersion: opts.asNewVersion },
      );
      await this.store.audit.record({
        actorId: p.user.id,
        action: opts.asNewVersion ? 'lab.version' : 'lab.create',
        target: `lab:${lab.name}`,
        details: { version: saved.version, changed: saved.changed },
      });
      if (saved.changed) this.onImported?.({ name: lab.name, version: saved.version });
      return { name: lab.name, version: saved.version, changed: saved.changed };
    } catch (err) {
      if (err instanceof LabExistsError) throw conflict(err.message);
      throw err;
    }
  }

  async version(name: string, version?: number): Promise<LabVersion> {
    const found = await this.store.labs.version(name, version);
    if (!found || !(await this.store.labs.get(name))) {
      throw notFound(version === undefined ? `lab "${name}"` : `version ${version} of lab "${name}"`);
    }
    return found;
  }

  /** The files of a version, for export. */
  async bundle(name: string, version?: number): Promise<LabBundle> {
    const v = await this.version(name, version);
    return { files: new Map(v.files.map((f) => [f.path, f.content])) };
  }

  async remove(p: Principal, name: string): Promise<void> {
    const lab = await this.store.labs.get(name);
    if (!lab) throw notFound(`lab "${name}"`);
    if (!canEditLab(p, lab)) throw forbidden(`lab "${name}" belongs to another author`);
    const active = await this.store.instances.countByLab(name, [
      'requested',
      'provisioning',
      'running',
      'paused',
      'stopping',
    ]);
    if (active > 0) throw conflict(`lab "${name}" has ${active} active instance(s); stop them first`);
    await this.store.labs.delete(name);
    await this.store.audit.record({ actorId: p.user.id, action: 'lab.delete', target: `lab:${name}` });
  }
}
