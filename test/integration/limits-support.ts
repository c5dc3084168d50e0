/**
 * @file Shared by the limits tests: small one-container labs with short
 * limits, and polling the API for an instance's state.
 */
import { expect } from 'vitest';
import type { TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

/** A one-container lab (the shell image) with the given `limits:` lines. */
export function smallLab(name: string, limits: string): string {
  return `name: ${name}
title: ${name}
limits: { ${limits} }
systems:
  - name: box
    kind: container
    image: lab-orchestrator/shell
    resources: { cpu: 250m, memory: 64Mi }
`;
}

export async function importLab(server: TestServer, yaml: string): Promise<void> {
  const res = await server.api(server.adminToken, 'POST', '/api/v1/labs', yaml, { 'content-type': 'application/yaml' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** Polls GET /instances/:id until the state is `want` (fails early on an unexpected `failed`). */
export async function stateOf(server: TestServer, token: string, id: string, want: string, seconds = 120) {
  return waitFor(
    `instance ${id} to be ${want}`,
    async () => {
      const res = await server.api(token, 'GET', `/api/v1/instances/${id}`);
      if (res.body.state === 'failed' && want !== 'failed') throw new Error(`failed: ${res.body.reason}`);
      return res.body.state === want ? res.body : undefined;
    },
    seconds,
  );
}

export interface HistoryEntry {
  from: string;
  to: string;
  at: string;
  by: string;
  reason?: string;
}
