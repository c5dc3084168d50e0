/**
 * @file Prometheus metrics at /metrics: process defaults, HTTP requests by
 * route and status, and instances by state (read from the database at scrape).
 */
import client from 'prom-client';
import { INSTANCE_STATES } from './domain/instance/state.js';
import type { Store } from './store/store.js';

export function createMetrics(store: Store) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'lab_orchestrator_' });
  const httpRequests = new client.Counter({
    name: 'lab_orchestrator_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  new client.Gauge({
    name: 'lab_orchestrator_instances',
    help: 'Instances by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const all = await store.instances.list();
      for (const state of INSTANCE_STATES) this.set({ state }, all.filter((i) => i.state === state).length);
    },
  });
  return { registry, httpRequests };
}
export type Metrics = ReturnType<typeof createMetrics>;
