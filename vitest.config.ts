import { defineConfig } from 'vitest/config';

// Tiers: unit tests sit beside the code; integration and end-to-end tests in test/.
// scripts/test.sh starts what they need (FerretDB, Podman's API socket, Chromium)
// and passes it in the environment (MONGODB_URI, DOCKER_HOST, CHROMIUM).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['server/**/*.test.ts', 'lti/**/*.test.ts', 'client/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/lti-platform/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
