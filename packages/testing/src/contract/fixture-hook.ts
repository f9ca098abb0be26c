/**
 * Runs one of the author's fixture hooks (`check`, `checkGone`, `drift`) for
 * a step, so that its failure names the step and what it means instead of a
 * bare `expected [...] to deeply equal []`.
 */
export async function runFixtureHook(
  step: string,
  hook: string,
  meaning: string,
  run: () => Promise<void> | void,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${step}: the fixture's \`${hook}\` failed: ${meaning}.\n  It said: ${message}`, { cause: error });
  }
}
