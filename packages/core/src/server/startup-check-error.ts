/**
 * Something the server needs at start does not answer (the store, Pulumi's
 * state backend): the process refuses to start, printing this message, one
 * line saying what to fix, rather than reporting ready and failing every change.
 */
export class StartupCheckError extends Error {
  override name = "StartupCheckError";
}
