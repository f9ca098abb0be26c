/** A command line the CLI cannot act on: exit code 2, like commander's own usage errors. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
