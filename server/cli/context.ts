/**
 * @file What CLI commands share: the configuration, the store, the local
 * admin principal that CLI actions are recorded under, and (on demand) the
 * runtime.
 */
import { principalOf } from '../api/auth.js';
import { type Config, loadConfig } from '../config.js';
import type { Principal } from '../domain/access.js';
import { createLogger } from '../log.js';
import { createRuntime } from '../runtime/create.js';
import type { Runtime } from '../runtime/runtime.js';
import { hashPassword, loadSecretKey, newApiToken, SecretBox } from '../secrets.js';
import { InstanceLifecycle } from '../services/instances.js';
import { LabCatalog } from '../services/labs.js';
import { Store } from '../store/store.js';

/** Bad input from the user of the CLI: exit code 1. */
export class InvalidInput extends Error {}

export const ADMIN_KEY = 'local:admin';

export class CliContext {
  readonly catalog: LabCatalog;
  private runtime?: Runtime;

  private constructor(
    readonly config: Config,
    readonly store: Store,
  ) {
    this.catalog = new LabCatalog(store);
  }

  static async with(work: (ctx: CliContext) => Promise<void>): Promise<void> {
    const config = loadConfig();
    const store = await Store.connect(config.MONGODB_URI);
    const ctx = new CliContext(config, store);
    try {
      await work(ctx);
    } finally {
      await ctx.runtime?.close();
      await store.close();
    }
  }

  /** The built-in admin user that CLI actions act as (made on first use). */
  async admin(): Promise<Principal> {
    const user =
      (await this.store.users.byKey(ADMIN_KEY)) ??
      (await this.store.users.upsert(ADMIN_KEY, { name: 'Administrator', admin: true }));
    return principalOf(this.store, user);
  }

  async createToken(username: string, name: string, admin: boolean): Promise<string> {
    const key = `local:${username}`;
    const user = (await this.store.users.byKey(key)) ?? (await this.store.users.upsert(key, { name: username, admin }));
    const { token, hash, prefix } = newApiToken();
    const created = await this.store.tokens.create({ userId: user.id, name, hash, prefix });
    const actor = await this.admin();
    await this.store.audit.record({ actorId: actor.user.id, action: 'token.create', target: `token:${created.id}` });
    return token;
  }

  async setPassword(username: string, password: string, admin: boolean): Promise<void> {
    const key = `local:${username}`;
    const user = (await this.store.users.byKey(key)) ?? (await this.store.users.upsert(key, { name: username, admin }));
    await this.store.users.setPasswordHash(user.id, await hashPassword(password));
  }

  async lifecycle(): Promise<InstanceLifecycle> {
    const log = createLogger(this.config.LOG_LEVEL === 'info' ? 'warn' : this.config.LOG_LEVEL);
    this.runtime ??= await createRuntime(this.config, log);
    const secrets = new SecretBox(loadSecretKey(this.config.SECRET_KEY, this.config.dataDir));
    return new InstanceLifecycle(this.store, this.runtime, secrets, log);
  }
}
