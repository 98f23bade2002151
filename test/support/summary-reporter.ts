// Ends every vitest run with the plain "N passed, M failed, K skipped" line that CI reads.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    const failedFiles: string[] = [];
    for (const m of testModules) {
      let failedHere = 0;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A file that failed with no failed test (its import or a beforeAll/afterAll threw, so
      // its tests were skipped or never collected) is one failure, not a clean run.
      if (m.state() === 'failed' && failedHere === 0) {
        failedHere = 1;
        failedFiles.push(m.moduleId);
      }
      failed += failedHere;
    }
    // vitest's "Tests" line counts tests only: say what the extra failures here are, so the two agree.
    const extra = [
      ...(failedFiles.length > 0 ? [`${failedFiles.length} file(s) failed outside their tests (${failedFiles.join(', ')})`] : []),
      ...(unhandledErrors.length > 0 ? [`${unhandledErrors.length} unhandled error(s)`] : []),
    ];
    if (extra.length > 0) process.stdout.write(`\nfailed also counts ${extra.join(' and ')}: vitest's Tests line does not\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
