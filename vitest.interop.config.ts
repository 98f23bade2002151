// `npm run test:interop`: the tests that run spanmeter beside the real peers (the Collector built
// by `npm run interop:build`, the OpenTelemetry Python SDK in a virtual environment), and the
// deploy tests (test/deploy: helm and checkers built with Go by deploy/build-tools.mjs). Kept out
// of `npm test` because they need Go and Python and a first build takes minutes.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts', 'test/deploy/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
