import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isServiceAccountPending, runtimeError } from './api-errors.js';

const status = (code: number, message: string) =>
  new ApiException(code, 'Unsuccessful HTTP Request', JSON.stringify({ kind: 'Status', message, code }), {});

describe('what the API server answered', () => {
  it('tells a pod waiting for its namespace’s default service account from a real refusal', () => {
    // As kube-apiserver answers a pod created before the controller manager made the namespace's service account.
    const pending = status(
      403,
      'pods "client" is forbidden: error looking up service account lab-c-1/default: serviceaccount "default" not found',
    );
    expect(isServiceAccountPending(pending)).toBe(true);
    expect(isServiceAccountPending(status(403, 'pods is forbidden: User "x" cannot create resource "pods"'))).toBe(
      false,
    );
    expect(isServiceAccountPending(status(404, 'serviceaccount "default" not found'))).toBe(false);
    expect(
      isServiceAccountPending(
        new Error('error looking up service account a/default: serviceaccount "default" not found'),
      ),
    ).toBe(false);
  });

  it('names what was being done and keeps the server’s message', () => {
    const err = runtimeError(
      'create Pod client',
      status(422, 'Pod "client" is invalid: spec.containers: Required value'),
    );
    expect(err.message).toBe('create Pod client: Pod "client" is invalid: spec.containers: Required value');
    expect(err.code).toBe('bad-spec');
  });
});
