/**
 * The runtime's API clients reuse their connections to the real API server
 * (api-clients.ts): client-node alone opens a TLS connection per call. New
 * TLS connections to the API server are counted by wrapping tls.connect (which
 * an https agent calls for every new connection); the real connect still runs.
 */
import tls from 'node:tls';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeKeptAliveClient, makeKeptAliveObjectApi } from '../../server/runtime/kubernetes/api-clients.js';
import { adminConfig, startControlPlane } from './kubernetes-control-plane.js';

let kc: KubeConfig;
let port: number;
let opened = 0;
const connect = tls.connect;

beforeAll(async () => {
  kc = adminConfig(await startControlPlane());
  port = Number(new URL(kc.getCurrentCluster()?.server ?? '').port);
  tls.connect = ((...args: Parameters<typeof connect>) => {
    const options = args[0] as tls.ConnectionOptions;
    if (typeof options === 'object' && Number(options.port) === port) opened += 1;
    return connect(...args);
  }) as typeof connect;
});

afterAll(() => {
  tls.connect = connect;
});

afterEach(() => {
  opened = 0;
});

describe('API clients', () => {
  it('of client-node alone open a connection per call (why api-clients.ts exists)', async () => {
    const plain = kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < 10; i++) await plain.readNamespace({ name: 'default' });
    expect(opened).toBe(10);
  });

  it('of the runtime reuse one kept-alive connection for calls one after another', async () => {
    const core = makeKeptAliveClient(kc, CoreV1Api);
    const objects = makeKeptAliveObjectApi(kc);
    for (let i = 0; i < 10; i++) await core.readNamespace({ name: 'default' });
    expect(opened).toBe(1);
    for (let i = 0; i < 10; i++)
      await objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    // Its own client, its own agent: one more connection for ten more calls (its discovery call included).
    expect(opened).toBe(2);
  });
});
