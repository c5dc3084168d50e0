/**
 * @file What LTI needs stored beside ltijs's own collections: the
 * deployments of each registered platform (ltijs keeps none, so it cannot
 * refuse an unknown `deployment_id`), the launches in flight (OIDC state →
 * issuer, client, target_link_uri and nonce, checked without cookies), and
 * the one-time launch codes the workspace page exchanges for a session.
 * Expiry is by `sweep()`, not TTL indexes (FerretDB 1.x has none).
 */
import { type Connection, Schema } from 'mongoose';
import { isDuplicateKey } from './store.js';

const opts = { versionKey: false } as const;

const deploymentSchema = new Schema(
  {
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    deploymentId: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  opts,
);
deploymentSchema.index({ issuer: 1, clientId: 1, deploymentId: 1 }, { unique: true });

const launchStateSchema = new Schema(
  {
    state: { type: String, required: true, unique: true },
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    targetLinkUri: { type: String, required: true },
    nonce: { type: String, required: true },
    /** Platform Storage (lti_storage_target): the frame, the platform's origin, sha256 of the value kept there. */
    storageTarget: String,
    storageOrigin: String,
    storageProofHash: String,
    createdAt: { type: Date, default: () => new Date(), index: true },
  },
  opts,
);

const launchCodeSchema = new Schema(
  {
    /** sha256 of the code: the code itself only travels in the redirect. */
    hash: { type: String, required: true, unique: true },
    userId: { type: String, required: true },
    /** The instance the code opens; none for an instructor's launch (it opens the progress page). */
    instanceId: { type: String },
    expiresAt: { type: Date, required: true, index: true },
  },
  opts,
);

const contextSchema = new Schema(
  {
    courseId: { type: String, required: true, unique: true },
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    deploymentId: { type: String, required: true },
    /** NRPS context_memberships_url, AGS lineitems: the course's services at the LMS. */
    membershipsUrl: String,
    lineItemsUrl: String,
    updatedAt: { type: Date, default: () => new Date() },
  },
  opts,
);

/** How to reach a course's services at its LMS. */
export interface CourseServices {
  courseId: string;
  issuer: string;
  clientId: string;
  deploymentId: string;
  membershipsUrl?: string;
  lineItemsUrl?: string;
}

export interface LaunchState {
  state: string;
  issuer: string;
  clientId: string;
  targetLinkUri: string;
  nonce: string;
  /** Set when the login put the state into the platform's frame (Platform Storage): the launch must read it back. */
  storage?: { target: string; origin: string; proofHash: string };
  createdAt: Date;
}

export interface Deployment {
  issuer: string;
  clientId: string;
  deploymentId: string;
}

export class PlatformRepository {
  private readonly Deployment;
  private readonly LaunchState;
  private readonly LaunchCode;
  private readonly Context;

  constructor(conn: Connection) {
    this.Deployment = conn.model('LtiDeployment', deploymentSchema, 'lti_deployments');
    this.LaunchState = conn.model('LtiLaunchState', launchStateSchema, 'lti_launch_states');
    this.LaunchCode = conn.model('LtiLaunchCode', launchCodeSchema, 'lti_launch_codes');
    this.Context = conn.model('LtiContext', contextSchema, 'lti_contexts');
  }

  /** Idempotent. */
  async addDeployment(d: Deployment): Promise<void> {
    try {
      await this.Deployment.updateOne(d, { $setOnInsert: { ...d, createdAt: new Date() } }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  async removeDeployment(d: Deployment): Promise<void> {
    await this.Deployment.deleteOne(d);
  }

  async hasDeployment(d: Deployment): Promise<boolean> {
    return (await this.Deployment.countDocuments(d)) > 0;
  }

  async deployments(issuer?: string, clientId?: string): Promise<Deployment[]> {
    const q: Record<string, string> = {};
    if (issuer) q.issuer = issuer;
    if (clientId) q.clientId = clientId;
    return (await this.Deployment.find(q).lean()).map((d) => ({
      issuer: d.issuer,
      clientId: d.clientId,
      deploymentId: d.deploymentId,
    }));
  }

  async saveLaunchState(s: Omit<LaunchState, 'createdAt'>): Promise<void> {
    const { storage, ...rest } = s;
    await this.LaunchState.create({
      ...rest,
      ...(storage
        ? { storageTarget: storage.target, storageOrigin: storage.origin, storageProofHash: storage.proofHash }
        : {}),
      createdAt: new Date(),
    });
  }

  /** The launch state without using it up (to ask the platform's frame for its copy first). */
  async peekLaunchState(state: string): Promise<LaunchState | undefined> {
    return launchStateOf(await this.LaunchState.findOne({ state }).lean());
  }

  /** Returns and deletes the launch state (single use): a replayed state finds nothing. */
  async takeLaunchState(state: string): Promise<LaunchState | undefined> {
    return launchStateOf(await this.LaunchState.findOneAndDelete({ state }).lean());
  }

  async saveLaunchCode(c: { hash: string; userId: string; instanceId?: string; expiresAt: Date }): Promise<void> {
    await this.LaunchCode.create(c);
  }

  /** Returns and deletes a live launch code (single use). */
  async takeLaunchCode(hash: string, now = new Date()): Promise<{ userId: string; instanceId?: string } | undefined> {
    const d = await this.LaunchCode.findOneAndDelete({ hash, expiresAt: { $gt: now } }).lean();
    return d ? { userId: d.userId, ...(d.instanceId ? { instanceId: d.instanceId } : {}) } : undefined;
  }

  /** Records the latest service URLs a launch of the course carried. */
  async saveCourseServices(c: CourseServices): Promise<void> {
    const set = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
    await this.Context.updateOne(
      { courseId: c.courseId },
      { $set: { ...set, updatedAt: new Date() } },
      { upsert: true },
    );
  }

  async courseServices(courseId: string): Promise<CourseServices | undefined> {
    const d = await this.Context.findOne({ courseId }).lean();
    return d
      ? {
          courseId: d.courseId,
          issuer: d.issuer,
          clientId: d.clientId,
          deploymentId: d.deploymentId,
          ...(d.membershipsUrl ? { membershipsUrl: d.membershipsUrl } : {}),
          ...(d.lineItemsUrl ? { lineItemsUrl: d.lineItemsUrl } : {}),
        }
      : undefined;
  }

  /** Deletes launch states older than `stateMaxAgeMs` and expired launch codes. */
  async sweep(stateMaxAgeMs: number, now = new Date()): Promise<number> {
    const a = await this.LaunchState.deleteMany({ createdAt: { $lt: new Date(now.getTime() - stateMaxAgeMs) } });
    const b = await this.LaunchCode.deleteMany({ expiresAt: { $lte: now } });
    return a.deletedCount + b.deletedCount;
  }
}

interface LaunchStateDoc {
  state: string;
  issuer: string;
  clientId: string;
  targetLinkUri: string;
  nonce: string;
  storageTarget?: string | null;
  storageOrigin?: string | null;
  storageProofHash?: string | null;
  createdAt: Date;
}

function launchStateOf(d: LaunchStateDoc | null): LaunchState | undefined {
  if (!d) return undefined;
  return {
    state: d.state,
    issuer: d.issuer,
    clientId: d.clientId,
    targetLinkUri: d.targetLinkUri,
    nonce: d.nonce,
    ...(d.storageTarget && d.storageOrigin && d.storageProofHash
      ? { storage: { target: d.storageTarget, origin: d.storageOrigin, proofHash: d.storageProofHash } }
      : {}),
    createdAt: d.createdAt,
  };
}
