import { randomUUID } from 'node:crypto';
import { decodeJwt, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeepLinkingSettings } from './model.js';
import { type RunningPlatform, startPlatform } from './platform.js';
import { launch, seedCourse, TestTool } from './testTool.js';
import { CLAIM, ROLE } from './vocabulary.js';

let running: RunningPlatform;
let tool: TestTool;
let seed: ReturnType<typeof seedCourse>;

beforeAll(async () => {
  running = await startPlatform();
  tool = await TestTool.start();
  seed = seedCourse(running.platform, tool);
});
afterAll(async () => {
  await running?.close();
  await tool?.close();
});

/** A deep linking launch as the teacher; returns the settings claim. */
async function deepLinkingLaunch(): Promise<{ payload: JWTPayload; settings: DeepLinkingSettings }> {
  const start = running.platform.urls.deepLinkingStart(seed.course.id, 'teacher', seed.clientId);
  const { login, answer } = await launch(running.platform, start, tool.deepLinkingUrl);
  expect(login.fields.target_link_uri).toBe(tool.deepLinkingUrl);
  const payload = decodeJwt(answer.fields.id_token!);
  return { payload, settings: payload[CLAIM.deepLinkingSettings] as DeepLinkingSettings };
}

const labItem = (title: string, points = 12) => ({
  type: 'ltiResourceLink',
  title,
  url: `${tool.launchUrl}?lab=linux-net-101`,
  custom: { lab: 'linux-net-101' },
  lineItem: { scoreMaximum: points, label: `${title} (points)`, resourceId: 'linux-net-101' },
});

function response(settings: DeepLinkingSettings, items: object[], change: JWTPayload = {}): JWTPayload {
  return {
    iss: seed.clientId,
    aud: running.platform.urls.issuer,
    nonce: randomUUID(),
    [CLAIM.messageType]: 'LtiDeepLinkingResponse',
    [CLAIM.version]: '1.3.0',
    [CLAIM.deploymentId]: seed.deploymentId,
    [CLAIM.deepLinkingData]: settings.data,
    [CLAIM.deepLinkingContentItems]: items,
    [CLAIM.deepLinkingMsg]: 'Lab added',
    ...change,
  };
}

const post = (url: string, jwt: string) => fetch(url, { method: 'POST', body: new URLSearchParams({ JWT: jwt }) });

describe('deep linking', () => {
  it('sends an LtiDeepLinkingRequest with its settings and no resource link', async () => {
    const { payload, settings } = await deepLinkingLaunch();
    expect(payload[CLAIM.messageType]).toBe('LtiDeepLinkingRequest');
    expect(payload[CLAIM.roles]).toEqual([ROLE.instructor]);
    expect(payload).not.toHaveProperty(CLAIM.resourceLink);
    expect(settings).toMatchObject({
      accept_types: ['ltiResourceLink'],
      accept_presentation_document_targets: ['iframe', 'window'],
      accept_multiple: true,
      accept_lineitem: true,
    });
    expect(settings.deep_link_return_url).toMatch(new RegExp(`^${running.platform.urls.deepLinkingReturn}\\?session=`));
  });

  it('is for instructors only', async () => {
    const res = await fetch(running.platform.urls.deepLinkingStart(seed.course.id, 'alice', seed.clientId));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('not an instructor');
  });

  it('creates resource links and line items from the verified response', async () => {
    const { settings } = await deepLinkingLaunch();
    const res = await post(
      settings.deep_link_return_url,
      await tool.sign(response(settings, [labItem('Lab one'), labItem('Lab two', 5)])),
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('data-created="2"');
    expect(html).toContain('Lab added');
    const [returned] = running.platform.store.deepLinkingReturns.slice(-1);
    expect(returned?.createdLinks.map((l) => l.title)).toEqual(['Lab one', 'Lab two']);
    const link = returned!.createdLinks[0]!;
    expect(link).toMatchObject({
      courseId: seed.course.id,
      clientId: seed.clientId,
      custom: { lab: 'linux-net-101' },
      createdBy: 'deep-linking',
    });
    expect(running.platform.lineItemsOf(link.id)).toEqual([
      expect.objectContaining({
        scoreMaximum: 12,
        label: 'Lab one (points)',
        resourceId: 'linux-net-101',
        resourceLinkId: link.id,
      }),
    ]);

    // The new activity launches with its URL, custom parameters and line item.
    const launched = await launch(running.platform, running.platform.urls.launch(link.id, 'alice'), tool.launchUrl);
    const payload = decodeJwt(launched.answer.fields.id_token!);
    expect(payload[CLAIM.targetLinkUri]).toBe(`${tool.launchUrl}?lab=linux-net-101`);
    expect(payload[CLAIM.custom]).toEqual({ lab: 'linux-net-101' });
    expect((payload[CLAIM.ags] as { lineitem: string }).lineitem).toBe(
      running.platform.urls.lineItem(seed.course.id, running.platform.lineItemsOf(link.id)[0]!.id),
    );
  });

  it.each([
    ['iss other than the client_id', { iss: 'someone' }, 'iss'],
    ['aud other than the platform', { aud: 'https://elsewhere.example' }, 'aud'],
    ['no nonce', { nonce: undefined }, 'nonce'],
    ['another message_type', { [CLAIM.messageType]: 'LtiResourceLinkRequest' }, 'message_type'],
    ['another version', { [CLAIM.version]: '1.1.0' }, 'version'],
    ['another deployment_id', { [CLAIM.deploymentId]: 'other' }, 'deployment_id'],
    ['data not echoed', { [CLAIM.deepLinkingData]: 'forged' }, 'data'],
  ])('refuses a response with %s', async (_name, change, word) => {
    const { settings } = await deepLinkingLaunch();
    const res = await post(
      settings.deep_link_return_url,
      await tool.sign(response(settings, [labItem('Bad')], change)),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(word);
  });

  it('refuses a response signed by another key, a replayed nonce, and a second answer', async () => {
    const { settings } = await deepLinkingLaunch();
    const forged = await post(
      settings.deep_link_return_url,
      await tool.sign(response(settings, [labItem('x')]), { foreign: true }),
    );
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('signature');

    const payload = response(settings, [labItem('Once')]);
    expect((await post(settings.deep_link_return_url, await tool.sign(payload))).status).toBe(200);
    const again = await post(settings.deep_link_return_url, await tool.sign({ ...payload, nonce: randomUUID() }));
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('already answered');

    const second = await deepLinkingLaunch();
    const replay = await post(
      second.settings.deep_link_return_url,
      await tool.sign({ ...response(second.settings, []), nonce: payload.nonce }),
    );
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('already used');
  });

  it('refuses items the request did not accept', async () => {
    running.platform.setDeepLinkingSettings({ accept_multiple: false, accept_lineitem: false });
    try {
      const { settings } = await deepLinkingLaunch();
      const two = await post(
        settings.deep_link_return_url,
        await tool.sign(response(settings, [labItem('a'), labItem('b')])),
      );
      expect(await two.text()).toContain('only one item');
      const lineItem = await post(settings.deep_link_return_url, await tool.sign(response(settings, [labItem('a')])));
      expect(await lineItem.text()).toContain('lineItem is not accepted');
      const link = await post(
        settings.deep_link_return_url,
        await tool.sign(response(settings, [{ type: 'link', url: 'https://example.com' }])),
      );
      expect(await link.text()).toContain('type link is not accepted');
    } finally {
      running.platform.setDeepLinkingSettings({ accept_multiple: true, accept_lineitem: true });
    }
  });
});
