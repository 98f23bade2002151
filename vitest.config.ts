import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // test/interop needs the peers (Go, Python), test/deploy helm and Go-built checkers:
    // `npm run test:interop`, vitest.interop.config.ts
    exclude: ['test/interop/**', 'test/deploy/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
