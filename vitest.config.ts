import { defineConfig } from 'vitest/config';

// Two projects: unit tests are pure and fast; integration tests share one real control plane
// (started once by the global setup) and the cloud simulator, and run files one at a time so the
// 2-core CI machine is not oversubscribed.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'adapters/**/*.test.ts', 'provider/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          fileParallelism: false,
          // Backstops only: every wait in a test has its own, shorter, named deadline (test/helpers/deadline.ts).
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
