/**
 * @file The admin CLI (`lab-orchestrator`). Exit codes: 0 ok, 1 invalid
 * input (message on stderr), 2 any other failure. Commands that need the
 * database read MONGODB_URI (and the rest of the configuration) from the
 * environment like the server does.
 */
import { readFile, stat } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { type PlatformView, type Registrations, withRegistrations } from '../../lti/registration.js';
import { type BundleResult, readLabFolder, writeLabFolder } from '../domain/lab/bundle.js';
import { parseLab } from '../domain/lab/parse.js';
import { readLabZip } from '../domain/lab/zip.js';
import { errorMessage, HttpError } from '../errors.js';
import { loadSecretKey } from '../secrets.js';
import { CliContext, InvalidInput } from './context.js';
import { addPoolCommands } from './pool-commands.js';
import { addTutorialCommands } from './tutorial-commands.js';

async function readBundle(source: string): Promise<BundleResult> {
  const info = await stat(source).catch(() => undefined);
  if (!info) throw new InvalidInput(`${source}: no such file or folder`);
  return info.isDirectory() ? readLabFolder(source) : readLabZip(await readFile(source), source);
}

function printProblems(problems: Array<{ path: string; message: string }>): void {
  for (const p of problems) process.stderr.write(`${p.path}: ${p.message}\n`);
}

const program = new Command('lab-orchestrator')
  .description('Admin CLI of Lab Orchestrator')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

const lab = program.command('lab').description('validate, import, export and list labs');
lab
  .command('validate <source>')
  .description('check a lab folder or zip; prints every problem with file, line and field')
  .action(async (source: string) => {
    const read = await readBundle(source);
    const result = read.ok ? parseLab(read.bundle) : read;
    if (!result.ok) {
      printProblems(result.problems);
      throw new InvalidInput(`${source}: ${result.problems.length} problem(s)`);
    }
    process.stdout.write(`${source}: lab "${result.lab.name}" is valid\n`);
  });
lab
  .command('import <source>')
  .description('import a lab folder or zip (a new version if the lab exists)')
  .action(async (source: string) => {
    const read = await readBundle(source);
    if (!read.ok) {
      printProblems(read.problems);
      throw new InvalidInput(`${source}: not a valid lab`);
    }
    await CliContext.with(async (ctx) => {
      const saved = await ctx.catalog.importBundle(await ctx.admin(), read.bundle, {
        asNewVersion: (await ctx.store.labs.get(parseName(read.bundle))) !== undefined,
      });
      process.stdout.write(
        `${saved.name}: version ${saved.version}${saved.changed ? '' : ' (unchanged: same files as the latest version)'}\n`,
      );
    });
  });
lab
  .command('list')
  .description('list labs')
  .action(async () => {
    await CliContext.with(async (ctx) => {
      for (const l of await ctx.store.labs.list()) process.stdout.write(`${l.name}\tv${l.latestVersion}\t${l.title}\n`);
    });
  });
lab
  .command('export <name> <folder>')
  .option('--version <n>', 'version to export (default: latest)', (v) => Number(v))
  .description('write a lab version back to a folder')
  .action(async (name: string, folder: string, opts: { version?: number }) => {
    await CliContext.with(async (ctx) => {
      await writeLabFolder(await ctx.catalog.bundle(name, opts.version), folder);
      process.stdout.write(`${name} written to ${folder}\n`);
    });
  });
addTutorialCommands(lab, readBundle, printProblems);
addPoolCommands(program);

program
  .command('token')
  .description('API tokens')
  .command('create')
  .requiredOption('--user <username>', 'local user name (made if missing)')
  .option('--name <name>', 'a name to tell the token apart', 'cli')
  .option('--admin', 'make the user an admin (when it is created)')
  .description('create an API token and print it (shown once)')
  .action(async (opts: { user: string; name: string; admin?: boolean }) => {
    if (!/^[a-z][a-z0-9._-]{1,63}$/.test(opts.user))
      throw new InvalidInput(`--user: "${opts.user}" is not a user name`);
    await CliContext.with(async (ctx) => {
      const token = await ctx.createToken(opts.user, opts.name, opts.admin === true);
      process.stdout.write(`${token}\n`);
    });
  });

program
  .command('user')
  .description('local users')
  .command('set-password')
  .requiredOption('--user <username>', 'local user name (made if missing)')
  .requiredOption('--password-file <file>', 'file whose first line is the password (keeps it out of the process list)')
  .option('--admin', 'make the user an admin (when it is created)')
  .description('set the password a local user signs in with in the browser')
  .action(async (opts: { user: string; passwordFile: string; admin?: boolean }) => {
    if (!/^[a-z][a-z0-9._-]{1,63}$/.test(opts.user))
      throw new InvalidInput(`--user: "${opts.user}" is not a user name`);
    const password = (
      await readFile(opts.passwordFile, 'utf8').catch(() => {
        throw new InvalidInput(`--password-file: cannot read ${opts.passwordFile}`);
      })
    )
      .split('\n')[0]!
      .trim();
    if (password.length < 10) throw new InvalidInput('--password-file: the password needs at least 10 characters');
    await CliContext.with(async (ctx) => {
      await ctx.setPassword(opts.user, password, opts.admin === true);
      process.stdout.write(`password of ${opts.user} set\n`);
    });
  });

const instance = program.command('instance').description('list and stop instances');
instance
  .command('list')
  .description('list instances')
  .action(async () => {
    await CliContext.with(async (ctx) => {
      for (const i of await ctx.store.instances.list()) {
        process.stdout.write(`${i.id}\t${i.state}\t${i.labName}@${i.labVersion}\towner=${i.ownerId}\n`);
      }
    });
  });
instance
  .command('stop <id>')
  .description('stop an instance (removes its systems from the runtime)')
  .action(async (id: string) => {
    await CliContext.with(async (ctx) => {
      const lifecycle = await ctx.lifecycle();
      await lifecycle.act(await ctx.admin(), id, 'stop');
      await lifecycle.settled(id);
      const after = await ctx.store.instances.get(id);
      process.stdout.write(`${id}: ${after?.state ?? 'gone'}${after?.reason ? ` (${after.reason})` : ''}\n`);
    });
  });

const platform = program.command('platform').description('LMS platforms that launch this tool (LTI 1.3)');
async function withPlatforms<T>(work: (r: Registrations) => Promise<T>): Promise<T> {
  let result: T | undefined;
  await CliContext.with(async (ctx) => {
    const secretKey = loadSecretKey(ctx.config.SECRET_KEY, ctx.config.dataDir);
    result = await withRegistrations(ctx.store, ctx.config.MONGODB_URI, secretKey, work);
  });
  return result as T;
}
const printPlatform = (p: PlatformView) =>
  process.stdout.write(
    `${p.issuer}\tclient=${p.clientId}\tdeployments=${p.deploymentIds.join(',')}\tkid=${p.kid}\t${p.active ? 'active' : 'inactive'}\n`,
  );
platform
  .command('register')
  .description('register a platform (or update it) with its deployments; prints the tool key id')
  .requiredOption('--issuer <url>', 'the platform issuer (iss)')
  .requiredOption('--client-id <id>', 'the client id the platform gave this tool')
  .requiredOption('--auth-url <url>', 'OIDC authorization endpoint')
  .requiredOption('--token-url <url>', 'OAuth2 token endpoint')
  .requiredOption('--jwks-url <url>', 'the platform JWKS URL')
  .requiredOption('--deployment-id <id...>', 'deployment id(s) of this tool on the platform')
  .option('--name <name>', 'a name for people')
  .option('--inactive', 'register it inactive (no launches until activated)')
  .action(
    async (o: {
      issuer: string;
      clientId: string;
      authUrl: string;
      tokenUrl: string;
      jwksUrl: string;
      deploymentId: string[];
      name?: string;
      inactive?: boolean;
    }) => {
      const view = await withPlatforms((r) =>
        r.register(
          {
            issuer: o.issuer,
            clientId: o.clientId,
            authUrl: o.authUrl,
            tokenUrl: o.tokenUrl,
            jwksUrl: o.jwksUrl,
            deploymentIds: o.deploymentId,
            ...(o.name ? { name: o.name } : {}),
          },
          { active: o.inactive !== true },
        ),
      );
      printPlatform(view);
    },
  );
platform
  .command('list')
  .description('list registered platforms')
  .action(async () => {
    for (const p of await withPlatforms((r) => r.list())) printPlatform(p);
  });
for (const [name, active] of [
  ['activate', true],
  ['deactivate', false],
] as const) {
  platform
    .command(name)
    .description(`${name} a platform (launches from an inactive one are refused)`)
    .requiredOption('--issuer <url>', 'the platform issuer')
    .requiredOption('--client-id <id>', 'its client id')
    .action(async (o: { issuer: string; clientId: string }) => {
      const view = await withPlatforms((r) => r.setActive(o.issuer, o.clientId, active));
      if (!view) throw new InvalidInput(`no platform ${o.issuer} with client id ${o.clientId}`);
      printPlatform(view);
    });
}

function parseName(bundle: { files: Map<string, Buffer> }): string {
  const result = parseLab(bundle);
  return result.ok ? result.lab.name : '';
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 1);
  if (err instanceof InvalidInput || (err instanceof HttpError && err.status < 500)) {
    if (err instanceof HttpError && err.details?.problems) printProblems(err.details.problems);
    process.stderr.write(`lab-orchestrator: ${errorMessage(err)}\n`);
    process.exit(1);
  }
  process.stderr.write(`lab-orchestrator: ${errorMessage(err)}\n`);
  process.exit(2);
}
