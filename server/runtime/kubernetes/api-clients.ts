/**
 * @file API clients whose calls share kept-alive connections. client-node
 * (1.x) makes a new https.Agent for every request it sends
 * (KubeConfig.applySecurityAuthentication → createAgent), so every call
 * opens its own TLS connection: a handshake per object, which bounds how fast
 * instances are made (bench/kubernetes.ts). Here the agent of a request is
 * swapped for one kept-alive agent per set of TLS options (the CA, client
 * certificate and key in force), so a rotated certificate gets a new agent.
 * Credentials in headers (tokens) are still applied per request by the
 * KubeConfig. Agents of proxies are left alone.
 */
import https from 'node:https';
import {
  createConfiguration,
  type KubeConfig,
  KubernetesObjectApi,
  type RequestContext,
  type SecurityAuthentication,
  ServerConfiguration,
} from '@kubernetes/client-node';

/**
 * No cap on sockets: with one, a request waits for a busy socket, and
 * node-fetch 2 (under client-node) then takes the end of the previous
 * response on that socket for a premature close of its own
 * (node-fetch/node-fetch#1767). Idle sockets are kept for reuse.
 */
const MAX_SOCKETS = Number.POSITIVE_INFINITY;

/**
 * An idle socket is closed before the API server closes it (kube-apiserver:
 * IdleTimeout 90 s, k8s.io/apiserver secure_serving.go), so a request never
 * goes out on a connection the server is closing. (On a busy socket the agent's
 * timeout only emits an event, which nothing here acts on.)
 */
const IDLE_MS = 60_000;

class KeptAliveAuthentication implements SecurityAuthentication {
  private readonly agents = new Map<string, https.Agent>();

  constructor(private readonly kc: KubeConfig) {}

  getName(): string {
    return 'kept-alive connections';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.kc.applySecurityAuthentication(context);
    const agent = context.getAgent();
    if (agent?.constructor !== https.Agent) return;
    const o = (agent as https.Agent).options;
    const key = JSON.stringify([o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized]);
    let shared = this.agents.get(key);
    if (!shared) {
      shared = new https.Agent({ ...o, keepAlive: true, maxSockets: MAX_SOCKETS, timeout: IDLE_MS });
      this.agents.set(key, shared);
    }
    context.setAgent(shared);
  }
}

type ApiType<T> = new (config: ReturnType<typeof createConfiguration>) => T;

/** Like kc.makeApiClient, with kept-alive connections. */
export function makeKeptAliveClient<T>(kc: KubeConfig, api: ApiType<T>): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: new KeptAliveAuthentication(kc) },
    }),
  );
}

class KeptAliveObjectApi extends KubernetesObjectApi {
  static of(kc: KubeConfig): KubernetesObjectApi {
    const client = makeKeptAliveClient(kc, KeptAliveObjectApi);
    client.setDefaultNamespace(kc);
    return client;
  }
}

/** Like KubernetesObjectApi.makeApiClient, with kept-alive connections. */
export function makeKeptAliveObjectApi(kc: KubeConfig): KubernetesObjectApi {
  return KeptAliveObjectApi.of(kc);
}
