/**
 * Skips the current test or hook and says why, visibly: mocha's pending marker carries no reason,
 * and a test that needs root (or a Debian package) must say so in the run's output.
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const runnable = ctx.test;
  // A hook (before/beforeEach) skips the tests of its suite: name the suite, not the hook.
  const isTest = (runnable as { type?: string } | undefined)?.type === 'test';
  if (runnable && isTest) {
    runnable.title += ` (skipped: ${reason})`;
  } else {
    const suite = runnable?.parent?.fullTitle() ?? 'suite';
    process.stdout.write(`    skipping "${suite}": ${reason}\n`);
  }
  return ctx.skip();
}
