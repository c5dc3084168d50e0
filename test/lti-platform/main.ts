/**
 * @file Runs the test platform as a server for the demo and for manual
 * testing: `npx tsx test/lti-platform/main.ts --port 4100`. It seeds a demo
 * course (a teacher, two learners, an administrator), optionally registers a
 * tool from flags, prints its URLs, and a last line `LTI_PLATFORM {json}`
 * for scripts.
 */
import { parseArgs } from 'node:util';
import { startPlatform } from './platform.js';

const USAGE = `usage: npx tsx test/lti-platform/main.ts [--port N] [--host 127.0.0.1] [--issuer URL] [--empty]
  [--tool-login URL --tool-launch URL --tool-jwks URL [--tool-redirect URL]... [--tool-deep-linking URL]
   [--tool-client-id ID] [--tool-deployment-id ID] [--link TITLE [--link-points N] [--link-custom k=v]...]]`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    issuer: { type: 'string' },
    empty: { type: 'boolean', default: false },
    'tool-login': { type: 'string' },
    'tool-launch': { type: 'string' },
    'tool-jwks': { type: 'string' },
    'tool-redirect': { type: 'string', multiple: true },
    'tool-deep-linking': { type: 'string' },
    'tool-client-id': { type: 'string' },
    'tool-deployment-id': { type: 'string' },
    link: { type: 'string' },
    'link-points': { type: 'string' },
    'link-custom': { type: 'string', multiple: true },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port: ${values.port} is not a port number\n${USAGE}`);
  process.exit(2);
}

const { platform, url, close } = await startPlatform({ port, host: values.host, issuer: values.issuer });
const summary: Record<string, unknown> = {
  url,
  issuer: platform.urls.issuer,
  authorization: platform.urls.authorization,
  token: platform.urls.token,
  jwks: platform.urls.jwks,
  openidConfiguration: platform.urls.openidConfiguration,
  registrationStart: platform.urls.registrationStart('<tool registration URL>'),
};

if (!values.empty) {
  const course = platform.addCourse({ id: 'demo', label: 'NET101', title: 'Networking 101' });
  const users = [
    platform.addUser({
      id: 'teacher',
      name: 'Tess Teacher',
      givenName: 'Tess',
      familyName: 'Teacher',
      email: 'tess@example.edu',
    }),
    platform.addUser({
      id: 'alice',
      name: 'Alice Learner',
      givenName: 'Alice',
      familyName: 'Learner',
      email: 'alice@example.edu',
    }),
    platform.addUser({
      id: 'bob',
      name: 'Bob Learner',
      givenName: 'Bob',
      familyName: 'Learner',
      email: 'bob@example.edu',
    }),
    platform.addUser({ id: 'admin', name: 'Ada Admin', email: 'admin@example.edu', roles: ['Administrator'] }),
  ];
  platform.enrol(course.id, 'teacher', 'Instructor');
  platform.enrol(course.id, 'alice', 'Learner');
  platform.enrol(course.id, 'bob', 'Learner');
  platform.enrol(course.id, 'admin', 'Administrator');
  summary.coursePages = Object.fromEntries(users.map((u) => [u.id, platform.urls.coursePage(course.id, u.id)]));
  summary.gradebook = platform.urls.gradebookPage(course.id);
}

if (values['tool-login']) {
  const launch = values['tool-launch'];
  if (!launch || !values['tool-jwks']) {
    console.error(`--tool-login needs --tool-launch and --tool-jwks\n${USAGE}`);
    process.exit(2);
  }
  const tool = platform.registerTool({
    clientId: values['tool-client-id'],
    name: 'Lab Orchestrator',
    deploymentIds: values['tool-deployment-id'] ? [values['tool-deployment-id']] : undefined,
    loginUrl: values['tool-login'],
    redirectUris: values['tool-redirect'] ?? [launch],
    targetLinkUri: launch,
    deepLinkingUrl: values['tool-deep-linking'],
    jwksUrl: values['tool-jwks'],
  });
  summary.tool = { clientId: tool.clientId, deploymentIds: tool.deploymentIds };
  if (values.link && !values.empty) {
    const custom = Object.fromEntries(
      (values['link-custom'] ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const points = values['link-points'] ? Number(values['link-points']) : undefined;
    const link = platform.addResourceLink({
      courseId: 'demo',
      clientId: tool.clientId,
      title: values.link,
      custom,
      lineItem: points ? { scoreMaximum: points } : undefined,
    });
    summary.link = link.id;
  }
}

console.log(`LTI test platform on ${url}`);
for (const [name, value] of Object.entries(summary)) {
  if (typeof value === 'string') console.log(`  ${name.padEnd(24)} ${value}`);
}
for (const [user, page] of Object.entries((summary.coursePages as Record<string, string> | undefined) ?? {})) {
  console.log(`  ${`course page (${user})`.padEnd(24)} ${page}`);
}
console.log(`LTI_PLATFORM ${JSON.stringify(summary)}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    close().finally(() => process.exit(0));
  });
}
