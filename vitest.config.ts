import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most suites wait on peers (Samba, slapd, FreeRADIUS, Chromium) or timers rather than compute:
    // two test files at a time on two cores, where the default would run one.
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
