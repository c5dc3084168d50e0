/**
 * @file Mongoose schemas of every collection. Written for MongoDB and
 * FerretDB 1.x alike: no TTL indexes (expiry is the jobs' work), no
 * multi-document transactions (state changes are single-document
 * conditional updates), no aggregation beyond the basics.
 */
import { type Connection, type InferSchemaType, Schema } from 'mongoose';

const opts = { versionKey: false, minimize: false } as const;

const userSchema = new Schema(
  {
    /** `local:<username>` or `lti:<issuer>#<subject>`: one identity, one user. */
    key: { type: String, required: true, unique: true },
    name: { type: String, required: true },
    email: String,
    admin: { type: Boolean, default: false },
    /** scrypt hash for local sign-in (admins); LMS users have none. */
    passwordHash: String,
    createdAt: { type: Date, default: () => new Date() },
  },
  opts,
);

const courseSchema = new Schema(
  {
    /** `local:<id>` or `lti:<issuer>#<context id>`. */
    key: { type: String, required: true, unique: true },
    title: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  opts,
);

const membershipSchema = new Schema(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    userId: { type: Schema.Types.ObjectId, required: true, index: true },
    role: { type: String, enum: ['instructor', 'learner'], required: true },
    updatedAt: { type: Date, default: () => new Date() },
  },
  opts,
);
membershipSchema.index({ courseId: 1, userId: 1 }, { unique: true });

const labSchema = new Schema(
  {
    name: { type: String, required: true, unique: true },
    title: { type: String, required: true },
    latestVersion: { type: Number, required: true },
    ownerId: { type: Schema.Types.ObjectId, required: true },
    /** Set by an admin: the tutorial may embed remote https media and iframes. */
    trusted: { type: Boolean, default: false },
    createdAt: { type: Date, default: () => new Date() },
    updatedAt: { type: Date, default: () => new Date() },
  },
  opts,
);

const labVersionSchema = new Schema(
  {
    labName: { type: String, required: true },
    version: { type: Number, required: true },
    /** The validated lab.yaml as JSON (defaults filled, durations in seconds). */
    definition: { type: Schema.Types.Mixed, required: true },
    files: [{ _id: false, path: { type: String, required: true }, content: { type: Buffer, required: true } }],
    digest: { type: String, required: true },
    createdBy: { type: Schema.Types.ObjectId, required: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  opts,
);
labVersionSchema.index({ labName: 1, version: 1 }, { unique: true });

const assignmentSchema = new Schema(
  {
    courseId: { type: Schema.Types.ObjectId, required: true, index: true },
    /** `lti:<issuer>#<resource link id>` or `local:<id>`. */
    key: { type: String, required: true, unique: true },
    title: { type: String, required: true },
    labName: { type: String, required: true },
    lineItemUrl: String,
    /** The LTI registration the link came through (AGS needs the platform's client and deployment). */
    issuer: String,
    clientId: String,
    deploymentId: String,
    createdAt: { type: Date, default: () => new Date() },
  },
  opts,
);

const instanceSchema = new Schema(
  {
    _id: { type: String, required: true },
    ownerId: { type: Schema.Types.ObjectId, required: true, index: true },
    labName: { type: String, required: true, index: true },
    labVersion: { type: Number, required: true },
    courseId: { type: Schema.Types.ObjectId, index: true },
    assignmentId: { type: Schema.Types.ObjectId },
    state: { type: String, required: true, index: true },
    /** Bumped by every transition: the condition of every conditional update. */
    revision: { type: Number, required: true, default: 0 },
    reason: String,
    credentials: [{ _id: false, system: String, user: String, passwordEnc: String }],
    history: [{ _id: false, from: String, to: String, at: Date, by: String, reason: String }],
    createdAt: { type: Date, default: () => new Date() },
    updatedAt: { type: Date, default: () => new Date() },
    lastActivityAt: { type: Date, default: () => new Date() },
    /** Limits and resources of the lab when created (domain/limits.ts), TTL deadline, warning, extensions. */
    limits: { ttl: Number, idle: Number, onExpire: String, extensions: Number, maxPaused: Number },
    resources: { cpu: Number, memory: Number },
    expiresAt: Date,
    warnedAt: Date,
    extensionsUsed: { type: Number, default: 0 },
    /** Which process works on the instance (provisioning, stopping) and until when: the reconciler leaves it alone. */
    workerId: String,
    workUntil: Date,
    /** Set while the instance waits unclaimed in a warm pool (the pool's id); unset when a learner claims it. */
    pool: { type: String, index: true },
  },
  opts,
);

const apiTokenSchema = new Schema(
  {
    userId: { type: Schema.Types.ObjectId, required: true, index: true },
    name: { type: String, required: true },
    /** sha256 of the token: the token itself is shown once and never stored. */
    hash: { type: String, required: true, unique: true },
    /** First characters, to tell tokens apart in a list. */
    prefix: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
    lastUsedAt: Date,
    expiresAt: Date,
    revokedAt: Date,
  },
  opts,
);

const auditSchema = new Schema(
  {
    at: { type: Date, default: () => new Date(), index: true },
    actorId: { type: Schema.Types.ObjectId },
    action: { type: String, required: true },
    target: { type: String, required: true },
    details: Schema.Types.Mixed,
  },
  opts,
);

const progressSchema = new Schema(
  {
    instanceId: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    labName: { type: String, required: true },
    /** Step states by step id (domain/tutorial/progress.ts StepStates). */
    steps: { type: Schema.Types.Mixed, default: {} },
    score: { type: Number, default: 0 },
    /** Bumped by every write: the condition of the next one (read, apply, write without lost updates). */
    revision: { type: Number, default: 0 },
    /** The ProgressEvent of the last write until every listener took it (sent again after a crash). */
    pendingEvent: Schema.Types.Mixed,
    updatedAt: { type: Date, default: () => new Date() },
  },
  opts,
);
progressSchema.index({ instanceId: 1, userId: 1 }, { unique: true });

const gradeOutboxSchema = new Schema(
  {
    /** One row per (assignment, user): the latest score wins. */
    key: { type: String, required: true, unique: true },
    assignmentId: { type: Schema.Types.ObjectId, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    score: { type: Schema.Types.Mixed, required: true },
    /** Bumped on every new score, so a send of an older one cannot mark the newer as sent. */
    sequence: { type: Number, required: true, default: 0 },
    sentSequence: { type: Number, default: -1 },
    attempts: { type: Number, default: 0 },
    nextAttemptAt: { type: Date, default: () => new Date(), index: true },
    /** True while `sequence` has not been delivered (FerretDB 1.x has no $expr to compare the two). */
    pending: { type: Boolean, default: true, index: true },
    leaseUntil: Date,
    /** The AGS timestamp given to `timestampSequence`: reused on a retry, later by ≥ 1 s for a newer score. */
    timestamp: Date,
    timestampSequence: Number,
    lastError: String,
    updatedAt: { type: Date, default: () => new Date() },
  },
  opts,
);

const poolSchema = new Schema(
  {
    /** The assignment's id: one warm pool per assignment. */
    _id: { type: String, required: true },
    courseId: { type: Schema.Types.ObjectId, required: true },
    labName: { type: String, required: true },
    size: { type: Number, required: true },
    until: { type: Date, required: true },
    createdBy: { type: Schema.Types.ObjectId, required: true },
    updatedAt: { type: Date, default: () => new Date() },
    /** Members that failed in a row, and when the next start may be tried (back-off). */
    failures: { type: Number, default: 0 },
    retryAt: Date,
    lastError: String,
  },
  opts,
);

/**
 * Who took a pool member: a unique insert keyed by the instance id decides
 * between two launches (or a launch and the pool job), even over several
 * connections, where FerretDB 1.x loses concurrent conditional updates.
 */
const poolClaimSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** The learner's user id, or `retire` (the pool job removes the member). */
    by: { type: String, required: true },
    at: { type: Date, default: () => new Date() },
  },
  opts,
);

export function registerModels(conn: Connection) {
  return {
    User: conn.model('User', userSchema, 'users'),
    Course: conn.model('Course', courseSchema, 'courses'),
    Membership: conn.model('Membership', membershipSchema, 'memberships'),
    Lab: conn.model('Lab', labSchema, 'labs'),
    LabVersion: conn.model('LabVersion', labVersionSchema, 'lab_versions'),
    Assignment: conn.model('Assignment', assignmentSchema, 'assignments'),
    Instance: conn.model('Instance', instanceSchema, 'instances'),
    ApiToken: conn.model('ApiToken', apiTokenSchema, 'api_tokens'),
    Audit: conn.model('Audit', auditSchema, 'audit_events'),
    Progress: conn.model('Progress', progressSchema, 'progress'),
    GradeOutbox: conn.model('GradeOutbox', gradeOutboxSchema, 'grade_outbox'),
    Pool: conn.model('Pool', poolSchema, 'pools'),
    PoolClaim: conn.model('PoolClaim', poolClaimSchema, 'pool_claims'),
  };
}
export type Models = ReturnType<typeof registerModels>;

export type UserDoc = InferSchemaType<typeof userSchema> & { _id: import('mongoose').Types.ObjectId };
export type InstanceDoc = InferSchemaType<typeof instanceSchema>;
