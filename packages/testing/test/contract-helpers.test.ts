import { describe, expect, it } from "vitest";
import { credentialShapedOutputs, findSecretValues } from "../src/contract/secret-leaks.ts";
import { stepTimeouts } from "../src/contract/step-timeouts.ts";

describe("the contract suite's secret scan", () => {
  it("finds a revealed value anywhere, also JSON-escaped, and names the key and the place", () => {
    const revealed = { password: ['p4ss"word-xyz'], uri: ["postgres://app:p4ss@db/app"] };
    expect(
      findSecretValues(revealed, {
        GetResource: JSON.stringify({ outputs: { note: 'p4ss"word-xyz' } }),
        logs: "connecting to postgres://app:p4ss@db/app",
        ListResources: "nothing here",
      }),
    ).toEqual(['secret output "password" appears in GetResource', 'secret output "uri" appears in logs']);
  });

  it("does not look for values too short to mean anything", () => {
    expect(findSecretValues({ rotation: [1], flag: [true] }, { GetResource: '{"rotation":1,"flag":true}' })).toEqual(
      [],
    );
  });

  it("flags plain outputs named like credentials or carrying a URI with a password", () => {
    expect(
      credentialShapedOutputs({
        password: "x",
        apiToken: "x",
        uri: "postgres://app:secret@127.0.0.1:5432/app",
        host: "127.0.0.1",
        url: "postgres://app@127.0.0.1/app",
        passwordRotation: 2,
      }),
    ).toEqual([
      'output "password" is named like a credential',
      'output "apiToken" is named like a credential',
      'output "uri" is a URI with a password',
    ]);
  });
});

describe("the contract suite's step timeouts", () => {
  it("fit every retry the worker may make, from the service's own worker settings", () => {
    const worker = { maxAttempts: 3, verifyTimeoutMs: 10_000, retryMaxMs: 5_000, leaseMs: 2_000, pollMs: 100 };
    const timeouts = stepTimeouts({ worker, reconcile: { intervalMs: 1_000 } }, 60_000);
    expect(timeouts.changeMs).toBe(3 * (60_000 + 10_000 + 5_000) + 2_000 + 100);
    expect(timeouts.driftMs).toBe(2 * (1_000 + 60_000 + 10_000));
    // More attempts, longer waits.
    expect(stepTimeouts({ worker: { ...worker, maxAttempts: 6 } }, 60_000).changeMs).toBeGreaterThan(timeouts.changeMs);
  });
});
