// What the SQLite store's main thread and its writer thread (writer-thread.ts) say to each other.

/** One store call of a planned transaction: method, arguments, and the JSON of the result the plan saw (null: not checked). */
export type PlannedCall = [method: string, args: unknown[], expected: string | null];

export interface WriterSettings {
  path: string;
  synchronous: "FULL" | "NORMAL";
}

export type WriterRequest =
  /** `transactions`: the JSON of a PlannedCall[][]; one string is far cheaper to post than the objects it holds. */
  { kind: "batch"; id: number; transactions: string } | { kind: "settings"; id: number } | { kind: "close" };

export type WriterReply =
  /** Per transaction, null when it was written, or why it must be planned again; `touched`: resource keys written. */
  | { kind: "batch"; id: number; results: (string | null)[]; touched: string[] }
  /** The batch's transaction failed as a whole (e.g. COMMIT could not sync): nothing of it was written. */
  | { kind: "failed"; id: number; message: string }
  /** SQLite's own answers: `PRAGMA journal_mode` and `PRAGMA synchronous` (2 = FULL, 1 = NORMAL). */
  | { kind: "settings"; id: number; journalMode: string; synchronous: number };
