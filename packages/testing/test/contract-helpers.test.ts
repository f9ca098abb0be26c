import { describe, expect, it } from "vitest";
import { judgeAttempts } from "../src/contract/attempt-findings.ts";
import { runFixtureHook } from "../src/contract/fixture-hook.ts";
import { credentialShapedOutputs, findSecretValues, generatedKey } from "../src/contract/secret-leaks.ts";
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

describe("secrets by value, in any cheap encoding (issue 28)", () => {
  const secret = "s3cret/with+odd=chars";
  it.each([
    ["plain", secret],
    ["URL-encoded", encodeURIComponent(secret)],
    ["base64", Buffer.from(secret).toString("base64")],
    ["base64url", Buffer.from(secret).toString("base64url")],
  ])("finds a generated secret %s, naming it as generated", (_how, shown) => {
    expect(findSecretValues({ [generatedKey]: [secret] }, { "the Pulumi state": `{"x":"${shown}"}` })).toEqual([
      "a secret the plugin generated appears in the Pulumi state",
    ]);
  });

  it("flags a plain connection string carrying a password (key=value)", () => {
    expect(credentialShapedOutputs({ dsn: "host=db user=app password=hunter22", login: "app" })).toEqual([
      'output "dsn" is a connection string with a password',
    ]);
  });
});

describe("no silent pass: a step's attempts (issue 28)", () => {
  const policy = { eventuallyConsistent: false, expectedStepMs: 10_000, slowFactor: 3 };
  const record = {
    step: "creates it",
    changeId: "chg_1",
    attempts: 2,
    durationMs: 12_000,
    retryErrors: ["attempt 1 failed; retrying in 0.2 s: quota not found"],
  };

  it("passes a first-attempt success silently, and only reports an attempt taken up again after a lost lease", () => {
    expect(judgeAttempts({ ...record, attempts: 1, retryErrors: [] }, policy)).toBeUndefined();
    const resumed = judgeAttempts({ ...record, retryErrors: [] }, policy);
    expect(resumed && "finding" in resumed && resumed.finding).toMatch(/took 2 attempts, none failed/);
  });

  it("fails a retried step, showing every attempt's error", () => {
    const verdict = judgeAttempts(record, policy);
    expect(verdict && "fail" in verdict && verdict.fail).toMatch(
      /creates it: change chg_1 needed 2 attempts \(12 s\)\. Every failed attempt's error:\n {2}attempt 1 failed; retrying in 0\.2 s: quota not found/,
    );
  });

  it("lets an eventually consistent plugin retry, reporting it, but not take more than a few times longer", () => {
    const relaxed = { ...policy, eventuallyConsistent: true };
    const allowed = judgeAttempts(record, relaxed);
    expect(allowed && "finding" in allowed && allowed.finding).toMatch(
      /^retried \(allowed by real.eventuallyConsistent\)/,
    );
    const slow = judgeAttempts({ ...record, durationMs: 31_000 }, relaxed);
    expect(slow && "fail" in slow && slow.fail).toMatch(/more than 3 × the expected 10000 ms/);
  });
});

describe("a fixture hook's failure names its step (issue 28)", () => {
  it("wraps a bare assertion with the step and what it means", async () => {
    await expect(
      runFixtureHook("deletes it", "checkGone", "the real thing is still there", () => {
        expect(["t1"]).toEqual([]);
      }),
    ).rejects.toThrow(
      /^deletes it: the fixture's `checkGone` failed: the real thing is still there\.\n {2}It said: expected/,
    );
  });
});
