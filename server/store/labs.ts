import type { LabDefinition } from '../domain/lab/schema.js';
import type { Models } from './models.js';
import { isDuplicateKey } from './store.js';

export interface LabSummary {
  name: string;
  title: string;
  latestVersion: number;
  ownerId: string;
  /** Marked by an admin: its tutorial may embed remote https media and iframes. */
  trusted: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface LabFile {
  path: string;
  content: Buffer;
}

export interface LabVersion {
  labName: string;
  version: number;
  definition: LabDefinition;
  files: LabFile[];
  digest: string;
  createdBy: string;
  createdAt: Date;
}

/** lean() gives BSON Binary for Buffer fields. */
const toBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from((v as { buffer: Uint8Array }).buffer));

export class LabExistsError extends Error {}

type LabLean = {
  name: string;
  title: string;
  latestVersion: number;
  ownerId: { toString(): string };
  trusted?: boolean;
  createdAt: Date;
  updatedAt: Date;
};
const toSummary = (d: LabLean): LabSummary => ({
  name: d.name,
  title: d.title,
  latestVersion: d.latestVersion,
  ownerId: d.ownerId.toString(),
  trusted: d.trusted === true,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/**
 * Labs and their versions. An edit makes a new version; versions are never
 * changed, so an instance keeps the version it started with. A version is
 * written before the lab points at it, so a crash in between leaves at most
 * an unlisted version that the next write adopts.
 */
export class LabRepository {
  constructor(private readonly m: Models) {}

  async list(): Promise<LabSummary[]> {
    return (
      await this.m.Lab.find({ latestVersion: { $gt: 0 } })
        .sort({ name: 1 })
        .lean()
    ).map(toSummary);
  }

  async get(name: string): Promise<LabSummary | undefined> {
    const d = await this.m.Lab.findOne({ name, latestVersion: { $gt: 0 } }).lean();
    return d ? toSummary(d) : undefined;
  }

  async version(name: string, version?: number): Promise<LabVersion | undefined> {
    const query = version === undefined ? { labName: name } : { labName: name, version };
    const d = await this.m.LabVersion.findOne(query).sort({ version: -1 }).lean();
    if (!d) return undefined;
    return {
      labName: d.labName,
      version: d.version,
      definition: d.definition as LabDefinition,
      files: d.files.map((f) => ({ path: f.path, content: toBuffer(f.content) })),
      digest: d.digest,
      createdBy: d.createdBy.toString(),
      createdAt: d.createdAt,
    };
  }

  async versions(name: string): Promise<Array<{ version: number; digest: string; createdAt: Date }>> {
    const docs = await this.m.LabVersion.find({ labName: name }, { version: 1, digest: 1, createdAt: 1 })
      .sort({ version: 1 })
      .lean();
    return docs.map((d) => ({ version: d.version, digest: d.digest, createdAt: d.createdAt }));
  }

  /**
   * Creates a lab (version 1). Throws LabExistsError when a lab of that name
   * exists, unless `orNewVersion`, which adds a version instead (import).
   * An identical bundle (same digest as the latest) makes no new version.
   */
  async save(
    input: { definition: LabDefinition; files: LabFile[]; digest: string; userId: string },
    opts: { orNewVersion: boolean },
  ): Promise<{ lab: LabSummary; version: number; changed: boolean }> {
    const { definition, userId } = input;
    const existing = await this.m.Lab.findOne({ name: definition.name }).lean();
    if (existing && existing.latestVersion > 0 && !opts.orNewVersion) {
      throw new LabExistsError(`a lab named "${definition.name}" exists already; add a new version instead`);
    }
    if (!existing) {
      try {
        await this.m.Lab.create({ name: definition.name, title: definition.title, latestVersion: 0, ownerId: userId });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        if (!opts.orNewVersion) throw new LabExistsError(`a lab named "${definition.name}" exists already`);
      }
    }
    return this.addVersion(input);
  }

  private async addVersion(input: {
    definition: LabDefinition;
    files: LabFile[];
    digest: string;
    userId: string;
  }): Promise<{ lab: LabSummary; version: number; changed: boolean }> {
    const name = input.definition.name;
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await this.m.LabVersion.findOne({ labName: name }, { version: 1, digest: 1 })
        .sort({ version: -1 })
        .lean();
      if (latest && latest.digest === input.digest) {
        const lab = await this.point(name, latest.version, input.definition.title);
        return { lab, version: latest.version, changed: false };
      }
      const version = (latest?.version ?? 0) + 1;
      try {
        await this.m.LabVersion.create({
          labName: name,
          version,
          definition: input.definition,
          files: input.files,
          digest: input.digest,
          createdBy: input.userId,
        });
      } catch (err) {
        if (isDuplicateKey(err)) continue; // someone else wrote this version number: read again
        throw err;
      }
      const lab = await this.point(name, version, input.definition.title);
      return { lab, version, changed: true };
    }
    throw new Error(`could not add a version to lab "${name}": too many concurrent writers`);
  }

  private async point(name: string, version: number, title: string): Promise<LabSummary> {
    const d = await this.m.Lab.findOneAndUpdate(
      { name },
      { $max: { latestVersion: version }, $set: { title, updatedAt: new Date() } },
      { returnDocument: 'after' },
    ).lean();
    return toSummary(d!);
  }

  /** Marks a lab trusted or not (admins only: the caller checks); undefined when there is no such lab. */
  async setTrusted(name: string, trusted: boolean): Promise<LabSummary | undefined> {
    const d = await this.m.Lab.findOneAndUpdate(
      { name, latestVersion: { $gt: 0 } },
      { $set: { trusted, updatedAt: new Date() } },
      { returnDocument: 'after' },
    ).lean();
    return d ? toSummary(d) : undefined;
  }

  /** Deletes a lab and its versions; the caller makes sure no instance uses it. */
  async delete(name: string): Promise<boolean> {
    const res = await this.m.Lab.deleteOne({ name });
    await this.m.LabVersion.deleteMany({ labName: name });
    return res.deletedCount > 0;
  }
}
