import { defineConfig } from 'vitest/config';

/**
 * End-to-end suites that run a second time with every server on PostgreSQL + S3 (a fresh
 * database and bucket prefix per server: test/helpers/test-store.ts): the registry, jobs,
 * keys, audit, CDS replay ledger and monitoring paths that touch the store. The store and
 * registry unit suites need no second pass: they run each test on both stores themselves.
 */
const SHARED_STORE_SUITES = [
  'test/e2e/native-api.test.ts',
  'test/e2e/jobs.test.ts',
  'test/e2e/job-access.test.ts',
  'test/e2e/audit-integrity.test.ts',
  'test/e2e/security.test.ts',
  'test/e2e/cds-auth.test.ts',
  'test/e2e/monitoring.test.ts',
  'test/e2e/register-same-bytes.test.ts',
  'test/e2e/tf-serving.test.ts',
];

/** The shared-store pass runs where a Postgres and an S3 server are given (CI always gives them). */
const servicesGiven =
  process.env.GALEN_REQUIRE_SERVICES === '1' ||
  (Boolean(process.env.GALEN_TEST_DATABASE_URL) && Boolean(process.env.GALEN_TEST_S3_ENDPOINT));

export default defineConfig({
  test: {
    // Rebuilds dist/ when src/ is newer: the CLI and job-worker children run the compiled code.
    globalSetup: ['test/global-setup.ts'],
    // The default output, then the list of tests skipped for want of PyTorch (if any), and why.
    reporters: ['default', './test/pytorch-skips-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The S3 clients of the tests: no multi-line Node 22 notice from the pinned AWS SDK in the output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'embedded', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
      ...(servicesGiven
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres-s3',
                include: SHARED_STORE_SUITES,
                env: {
                  GALEN_TEST_STORE: 'postgres-s3',
                  // The in-process S3 client takes its credentials from the AWS SDK's default chain.
                  AWS_ACCESS_KEY_ID: process.env.GALEN_TEST_S3_ACCESS_KEY_ID ?? 'test:tester',
                  AWS_SECRET_ACCESS_KEY: process.env.GALEN_TEST_S3_SECRET_ACCESS_KEY ?? 'testing',
                },
                setupFiles: ['test/shared-store-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
