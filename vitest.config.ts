import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Rebuilds dist/ when src/ is newer: the CLI and job-worker children run the compiled code.
    globalSetup: ['test/global-setup.ts'],
    // The default output, then the list of tests skipped for want of PyTorch (if any), and why.
    reporters: ['default', './test/pytorch-skips-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
