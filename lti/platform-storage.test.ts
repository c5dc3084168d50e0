import { describe, expect, it } from 'vitest';
import { LaunchRefused } from './claims.js';
import {
  checkStoredState,
  newStorageProof,
  STORAGE_FIELDS,
  storageGetPage,
  storagePutPage,
  storageTarget,
} from './platform-storage.js';

const configOf = (html: string) =>
  JSON.parse(/<script type="application\/json" id="lti-platform-storage">([\s\S]*?)<\/script>/.exec(html)![1]!);

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    return err instanceof LaunchRefused ? err.code : `not a refusal: ${String(err)}`;
  }
  return undefined;
};

describe('platform storage', () => {
  it('takes frame names and refuses other values of lti_storage_target', () => {
    expect(storageTarget('_parent')).toBe('_parent');
    expect(storageTarget('post_message_forwarding')).toBe('post_message_forwarding');
    for (const bad of ['', 'a b', '<script>', 'x'.repeat(101), 7, undefined])
      expect(storageTarget(bad)).toBeUndefined();
  });

  it('accepts the proof and nonce of the login and refuses anything else', () => {
    const { proof, hash } = newStorageProof();
    const expected = { proofHash: hash, nonce: 'n-1' };
    const body = (state: unknown, nonce: unknown) => ({
      [STORAGE_FIELDS.state]: state,
      [STORAGE_FIELDS.nonce]: nonce,
    });
    expect(refusal(() => checkStoredState(body(proof, 'n-1'), expected))).toBeUndefined();
    expect(refusal(() => checkStoredState(body(`${proof}x`, 'n-1'), expected))).toBe('state_mismatch');
    expect(refusal(() => checkStoredState(body(newStorageProof().proof, 'n-1'), expected))).toBe('state_mismatch');
    expect(refusal(() => checkStoredState(body(proof, 'n-2'), expected))).toBe('nonce_mismatch');
    expect(refusal(() => checkStoredState(body('', 'n-1'), expected))).toBe('platform_storage_missing');
    expect(refusal(() => checkStoredState({}, expected))).toBe('platform_storage_missing');
    expect(refusal(() => checkStoredState({ [STORAGE_FIELDS.error]: 'timeout' }, expected))).toBe(
      'platform_storage_unavailable',
    );
  });

  it('addresses the origin of the authorization endpoint and cannot be broken out of by a value', () => {
    const page = storagePutPage({
      authorizationUrl: 'https://lms.example/auth?state=s&nonce=</script><script>alert(1)</script>',
      target: '_parent',
      state: 's',
      proof: 'p',
      nonce: '</script><script>alert(1)</script>',
      newWindowUrl: 'https://tool.example/lti/login?iss=x',
    });
    expect(page).not.toContain('<script>alert(1)');
    const config = configOf(page);
    expect(config).toMatchObject({ origin: 'https://lms.example', target: '_parent' });
    expect(config.put).toEqual([
      { key: 'state_s', value: 'p' },
      { key: 'nonce_</script><script>alert(1)</script>', value: '</script><script>alert(1)</script>' },
    ]);
  });

  it('posts every field of the launch again, escaped, with the keys to read back', () => {
    const page = storageGetPage({
      action: 'https://tool.example/lti',
      fields: { id_token: 'a.b.c', state: 's', extra: '"><script>x</script>' },
      target: 'post_message_forwarding',
      origin: 'https://sso.lms.example',
      state: 's',
      nonce: 'n',
    });
    expect(page).toContain('<input type="hidden" name="id_token" value="a.b.c">');
    expect(page).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(configOf(page)).toMatchObject({
      origin: 'https://sso.lms.example',
      target: 'post_message_forwarding',
      get: [
        { key: 'state_s', field: STORAGE_FIELDS.state },
        { key: 'nonce_n', field: STORAGE_FIELDS.nonce },
      ],
    });
  });
});
