import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { toConnectError } from "../../src/server/error-translator.ts";

const withCode = (code: string, message = "from the driver") => Object.assign(new Error(message), { code });

// What the PostgreSQL driver throws, and what the client then sees: retry (UNAVAILABLE) only when nothing was
// committed and the same request may succeed; the driver's text (it can name hosts and users) never reaches it.
describe("store errors on the wire", () => {
  it.each([
    { what: "a refused connection", error: withCode("ECONNREFUSED"), code: Code.Unavailable },
    { what: "a connection exception (class 08)", error: withCode("08006"), code: Code.Unavailable },
    { what: "the server shutting down (failover)", error: withCode("57P01"), code: Code.Unavailable },
    { what: "serialization failures past the store's retries", error: withCode("40001"), code: Code.Unavailable },
    {
      what: "a socket error as the cause",
      error: new Error("query failed", { cause: withCode("ECONNRESET") }),
      code: Code.Unavailable,
    },
    { what: "a unique violation that is no race", error: withCode("23505"), code: Code.Internal },
    { what: "a syntax error", error: withCode("42601"), code: Code.Internal },
    { what: "an error with no code", error: new Error("boom"), code: Code.Internal },
  ])("$what", ({ error, code }) => {
    const translated = toConnectError(error);
    expect(translated.code).toBe(code);
    expect(translated.rawMessage).not.toContain("from the driver");
  });
});
