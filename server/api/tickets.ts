/**
 * @file Console tickets: the authorized step before a browser opens a
 * gateway socket (server/gateway/). Only a principal that may reach the
 * instance gets one (404 otherwise, like every other instance route), and
 * only for a system and console the lab declares.
 */
import { z } from 'zod';
import { badRequest, conflict, notFound } from '../errors.js';
import { notRunningReason } from '../gateway/gateway.js';
import { CONSOLES, consolePath } from '../gateway/protocol.js';
import { TICKET_TTL_MS, type TicketBook } from '../gateway/tickets.js';
import type { InstanceLifecycle } from '../services/instances.js';
import type { Store } from '../store/store.js';
import type { ApiRouter } from './routes.js';

const ticketBody = z.strictObject({
  system: z.string().min(1, 'expected the name of a system of the lab'),
  console: z.enum(CONSOLES),
  port: z.number().int().min(1).max(65535).optional(),
});

const ticketView = z.object({
  ticket: z.string(),
  expiresAt: z.string(),
  /** Path to open (WebSocket for terminal/desktop, a page for http), with the ticket. */
  url: z.string(),
});

export function ticketRoutes(api: ApiRouter, store: Store, lifecycle: InstanceLifecycle, tickets: TicketBook): void {
  api.route(
    {
      method: 'post',
      path: '/instances/:id/tickets',
      tag: 'instances',
      summary: `A single-use ticket (${TICKET_TTL_MS / 1000} s) to open a console of a system through the gateway`,
      body: ticketBody,
      status: 201,
      response: ticketView,
    },
    async ({ principal, params, body }) => {
      const instance = await lifecycle.reachable(principal, params.id!);
      const lab = await store.labs.version(instance.labName, instance.labVersion);
      if (!lab) throw notFound(`version ${instance.labVersion} of lab "${instance.labName}"`);
      const system = lab.definition.systems.find((s) => s.name === body.system);
      if (!system) {
        const names = lab.definition.systems.map((s) => s.name).join(', ');
        throw badRequest(`system: lab "${instance.labName}" has no system "${body.system}" (it has: ${names})`);
      }
      if (body.console === 'http') {
        if (body.port === undefined) throw badRequest('port: expected the port of the web app for an http console');
        if (!(system.ports ?? []).includes(body.port)) {
          throw badRequest(`port: system "${system.name}" declares no web app on port ${body.port}`);
        }
      } else if (!system.consoles.includes(body.console)) {
        throw badRequest(`console: system "${system.name}" has no ${body.console} console`);
      }
      if (instance.state !== 'running') throw conflict(notRunningReason(instance.state));
      const { ticket, expiresAt } = await tickets.issue({
        userId: principal.user.id,
        instanceId: instance.id,
        system: system.name,
        console: body.console,
        ...(body.console === 'http' ? { port: body.port } : {}),
      });
      const path = consolePath(instance.id, system.name, body.console, body.port);
      return { ticket, expiresAt: expiresAt.toISOString(), url: `${path}?ticket=${ticket}` };
    },
  );
}
