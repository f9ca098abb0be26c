import type { JsonObject, PluginDefinition } from "@plinth/core";
import {
  ChangeStatus,
  ResourceStatus,
  isFinalChangeStatus,
  type Change,
  type PlinthClient,
  type Resource,
} from "@plinth/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../wait-for.ts";
import { createTestService, mergeOneLevel } from "./create-test-service.ts";
import { contextOf, misnamedFields, parseSettings, refusedFields, resolveSpec } from "./plugin-checks.ts";
import { judgeAttempts } from "./attempt-findings.ts";
import { runFixtureHook } from "./fixture-hook.ts";
import { asText, credentialShapedOutputs, findSecretValues, generatedKey, secretNeedles } from "./secret-leaks.ts";
import { stepTimeouts } from "./step-timeouts.ts";
import type {
  AnyPlugin,
  JsonRecord,
  PluginContractFixtures,
  RealContractFixture,
  RealInfrastructure,
  RealResourceView,
  TestService,
} from "./types.ts";

/** A spec as the raw preview call takes it (a protobuf Struct's JSON). */
type StructJson = NonNullable<Parameters<PlinthClient["resources"]["previewResource"]>[0]["spec"]>;
const asStruct = (spec: JsonRecord) => JSON.parse(JSON.stringify(spec)) as StructJson;

const title = (spec: JsonRecord, description?: string) => description ?? JSON.stringify(spec);

/**
 * The suite every plugin runs, at a test file's top level:
 *
 * - valid fixtures parse and validate; each invalid fixture is refused naming its field;
 * - `defaults` is idempotent and its result parses again; identity is stable
 *   under re-resolution and under the edits in `sameIdentity`;
 * - with `real`: against real infrastructure through a real service and the
 *   SDK, create → verify → re-apply is a no-op → update → verify → drift is
 *   detected → delete → gone, each step only where the plugin declares it.
 */
export function describePluginContract<Spec, Settings>(
  definition: PluginDefinition<Spec, Settings>,
  fixtures: PluginContractFixtures<Spec, Settings>,
): void {
  const plugin = definition as AnyPlugin;
  describe(`${plugin.type} plugin contract`, () => {
    const settings = () => parseSettings(plugin, fixtures.settings ?? {});

    it("is a well-formed plugin (type family.kind, semver version, a spec schema and a program)", () => {
      expect(plugin.type).toMatch(/^[a-z][a-z0-9]*\.[a-z][a-z0-9-]*$/);
      expect(plugin.version).toMatch(/^\d+\.\d+\.\d+(?:[-+].*)?$/);
      expect(typeof plugin.spec.safeParse).toBe("function");
      expect(typeof plugin.program).toBe("function");
      expect(fixtures.valid.length, "at least one valid fixture").toBeGreaterThan(0);
    });

    describe("spec", () => {
      for (const fixture of fixtures.valid) {
        it(`accepts ${title(fixture.spec, fixture.description)}`, () => {
          expect(refusedFields(plugin, fixture.name, fixture.spec, undefined, settings())).toEqual([]);
        });
      }
      for (const fixture of fixtures.invalid) {
        it(`refuses ${title(fixture.spec, fixture.description)}, naming "${fixture.field}"`, () => {
          const fields = refusedFields(plugin, fixture.name, fixture.spec, fixture.previous, settings());
          expect(fields.length, "the spec was accepted").toBeGreaterThan(0);
          expect(
            misnamedFields(fields),
            'a violation\'s field is the path inside the spec ("partitions"), "" or "name"; core adds "spec."',
          ).toEqual([]);
          expect(fields).toContain(fixture.field);
        });
      }
    });

    describe("defaults and identity", () => {
      for (const fixture of fixtures.valid) {
        const label = title(fixture.spec, fixture.description);
        it(`defaults are idempotent and parse again: ${label}`, () => {
          const once = resolveSpec(plugin, fixture.name, fixture.spec, settings());
          const twice = resolveSpec(plugin, fixture.name, once, settings());
          expect(twice).toEqual(once);
        });
        it(`identity is a stable non-empty key: ${label}`, () => {
          const identity = identityOf(plugin, fixture.name, fixture.spec, settings());
          expect(identity).not.toBe("");
          const resolved = resolveSpec(plugin, fixture.name, fixture.spec, settings());
          expect(identityOf(plugin, fixture.name, resolved, settings())).toBe(identity);
        });
      }
      for (const fixture of fixtures.sameIdentity ?? []) {
        it(`identity survives an edit: ${fixture.description}`, () => {
          expect(identityOf(plugin, fixture.name, fixture.edited, settings())).toBe(
            identityOf(plugin, fixture.name, fixture.spec, settings()),
          );
        });
      }
    });

    if (fixtures.real) describeRealLifecycle(plugin, fixtures.real as RealContractFixture);
  });
}

function identityOf(plugin: AnyPlugin, name: string, spec: JsonRecord, settings: unknown): string {
  const resolved = resolveSpec(plugin, name, spec, settings);
  const identity = plugin.identity ? plugin.identity(name, plugin.spec.parse(resolved), contextOf(settings)) : name;
  expect(typeof identity, "identity returns a string").toBe("string");
  return identity;
}

let lifecycleCount = 0;

/** Why the delete step cannot pass without the author's own look at the real system. */
function missingCheckGone(step: string): string {
  return (
    `${step}: the fixture has no \`real.checkGone\`, so nothing independent checks that the delete removed the ` +
    "real thing (the plugin's own `verifyGone` cannot vouch for its own `delete`). Write one with your own client, " +
    "e.g. for a PostgreSQL database: `checkGone: async ({ spec }) => { const { rows } = await admin.query(" +
    '"select 1 from pg_database where datname = $1", [spec.database]); expect(rows).toEqual([]); }`; ' +
    'for a plugin with nothing real to look at, declare it: `checkGone: { none: "why" }`'
  );
}

/** How long one step is expected to take when `real.expectedStepMs` does not say: a few Pulumi runs and a verify. */
const defaultExpectedStepMs = 60_000;

/** What a hook-by-hook explanation of a non-converging or blind plugin says. */
const convergenceHooks =
  "Pulumi reads the real resource (the provider's `read`) and asks the provider's `diff` whether the recorded spec needs a change: " +
  "`diff` must answer `changes: false` when the inputs equal what `create`/`update` wrote, " +
  "and `read` must return the same properties `create`/`update` returned for an unchanged resource";

function describeRealLifecycle(plugin: AnyPlugin, real: RealContractFixture): void {
  const steps = {
    noOpReapply: real.steps?.noOpReapply ?? true,
    update: (real.steps?.update ?? true) && real.update !== undefined,
    drift: (real.steps?.drift ?? true) && real.drift !== undefined,
    delete: real.steps?.delete ?? true,
    convergence: real.steps?.convergence ?? true,
    secrets: real.steps?.secrets ?? true,
  };
  const name = real.name ?? `contract-${process.pid}-${++lifecycleCount}`;
  // The reconciler looks often, so drift shows within seconds.
  const serviceSettings = { reconcile: { intervalMs: steps.drift ? 500 : 0 }, ...real.service };
  const timeouts = stepTimeouts(serviceSettings, real.engineTimeoutMs);
  const changeMs = real.stepTimeoutMs ?? timeouts.changeMs;
  const type = plugin.type;
  const secretKeys = plugin.secretOutputs ?? [];
  const rotated = new Set(real.rotatedByUpdate ?? []);
  const expectedStepMs = real.expectedStepMs ?? defaultExpectedStepMs;
  /** What the suite noticed without failing (allowed retries, intended replaces): printed, so a green run still shows it. */
  const report = (finding: string) => console.warn(`[${type} contract] ${finding}`);

  describe("against real infrastructure", { timeout: changeMs * 3 }, () => {
    let infra: RealInfrastructure | undefined;
    let service: TestService | undefined;
    const running = () => {
      if (!service || !infra) throw new Error("the real infrastructure or the test service did not start");
      return { service, infra, requester: service.client("requester") };
    };
    /** Every change event seen, as JSON, for the secret scan. */
    const events: string[] = [];
    /** Every change the suite made, for the secret scan. */
    const changeIds: string[] = [];
    /** Every value each secret output has had, as revealed. */
    const revealed: Record<string, unknown[]> = {};

    beforeAll(async () => {
      infra = await real.setup();
      service = await createTestService({
        plugins: [{ ...real.plugin, settings: infra.settings }, ...(infra.plugins ?? [])],
        settings: mergeOneLevel(serviceSettings, infra.service ?? {}),
        ...(real.engineTimeoutMs === undefined ? {} : { engineTimeoutMs: real.engineTimeoutMs }),
      });
      await real.prepare?.(service);
    }, changeMs);

    afterAll(async () => {
      await service?.close();
      await infra?.stop?.();
    }, changeMs);

    const view = (resource: Resource): RealResourceView => ({
      name,
      spec: (resource.resolvedSpec ?? {}) as JsonRecord,
      outputs: (resource.outputs ?? {}) as JsonRecord,
      settings: parseSettings(plugin, running().infra.settings) as JsonRecord,
    });

    /** What the change's steps did, as its engine events say (e.g. "replace"), for the replace check. */
    const replaceOps = new Set(["replace", "create-replacement", "delete-replaced"]);

    /**
     * Follows a change to its end, approving it as a reviewer whenever it
     * waits for review (a plugin may ask for review at submit time, or after
     * the engine's preview shows something destructive). Then judges its
     * attempts (`judgeAttempts`): a step whose change needed a retry fails,
     * showing every attempt's error. Returns the change and the Pulumi
     * operations its events name.
     */
    async function settle(change: Change | undefined, step: string): Promise<{ change: Change; ops: Set<string> }> {
      if (!change) throw new Error("the server returned no change");
      changeIds.push(change.id);
      const { service: s } = running();
      const started = Date.now();
      const reviewers = ["reviewer", "reviewer2", "admin"];
      // The change's own story, for the failure message.
      const story: string[] = [];
      const watching = new AbortController();
      s.client("requester")
        .waitForChange(change.id, {
          signal: watching.signal,
          onEvent: (event) => {
            story.push(`${event.kind}: ${event.message}`);
            events.push(asText(event));
          },
        })
        .catch(() => undefined);
      let final: Change;
      try {
        final = await waitFor(
          async () => {
            const current = (await s.client("requester").changes.getChange({ id: change.id })).change;
            if (!current) throw new Error(`change ${change.id} not found`);
            if (current.status === ChangeStatus.PENDING_REVIEW) {
              const reviewer = reviewers[0];
              if (!reviewer) throw new Error("still waiting for review after every test reviewer approved");
              // Refused until the engine's preview is attached: then the next poll tries again.
              await s.client(reviewer).changes.approveChange({ id: current.id, comment: "contract suite" });
              reviewers.shift();
            }
            if (!isFinalChangeStatus(current.status)) throw new Error(`still ${ChangeStatus[current.status]}`);
            return current;
          },
          { what: `${type}/${name}: change ${change.id} to end`, timeoutMs: changeMs },
        );
      } catch (error) {
        throw new Error(`${step}: ${(error as Error).message}\nits events:\n  ${story.join("\n  ")}`, { cause: error });
      } finally {
        watching.abort();
      }
      const recorded = (await s.client("requester").changes.getChange({ id: change.id })).events;
      const retryErrors = recorded.filter((event) => event.kind === "retry").map((event) => event.message);
      const ops = new Set(
        recorded.flatMap((event) => {
          const op = (event.details as JsonRecord | undefined)?.op;
          return typeof op === "string" ? [op] : [];
        }),
      );
      const replaced = [...ops].some((op) => replaceOps.has(op)) ? `\n${replaceFinding(step)}` : "";
      if (final.status !== ChangeStatus.SUCCEEDED) {
        const retries = retryErrors.length > 0 ? `\nits earlier attempts:\n  ${retryErrors.join("\n  ")}` : "";
        throw new Error(
          `${step}: ${type}/${name}: change ${final.id} ended ${ChangeStatus[final.status]}: ${final.lastError || "(no error)"}${retries}${replaced}`,
        );
      }
      const verdict = judgeAttempts(
        { step, changeId: final.id, attempts: final.attempts, durationMs: Date.now() - started, retryErrors },
        { eventuallyConsistent: real.eventuallyConsistent ?? false, expectedStepMs, slowFactor: 3 },
      );
      if (verdict && "fail" in verdict) expect.fail(`${verdict.fail}${replaced}`);
      if (verdict) report(verdict.finding);
      return { change: final, ops };
    }

    /** "every change of X is destructive", with what to do about it. */
    function replaceFinding(step: string): string {
      return (
        `${step}: an update that keeps the identity planned a replace: every change of ${type} is destructive and ` +
        "will wait for review. If the provider can only replace (a Pulumi provider package's resource whose every " +
        "property forces a new one), Pulumi creates the new one before it deletes the old; when both are the same " +
        "real thing (same identity), that delete removes what was just written. Set `deleteBeforeReplace: true` on " +
        'the resource, or write a dynamic provider with a real `update` (docs/provider-packages.md, "Replace-only ' +
        'resources"). If replacing is intended, declare it with `real.replacesOnUpdate: true`.'
      );
    }

    async function resourceNow(client: PlinthClient): Promise<Resource> {
      return await client.get(type, name);
    }

    async function expectReady(step: string): Promise<Resource> {
      const resource = await resourceNow(running().requester);
      expect(ResourceStatus[resource.status], `${step}: the resource's status`).toBe("READY");
      const check = real.check;
      if (check) {
        await runFixtureHook(
          step,
          "check",
          "Plinth says READY, but your own look at the real system does not find it as the spec says",
          () => check(view(resource)),
        );
      }
      return resource;
    }

    /** Each declared secret output's value now, as its owner reveals it. */
    async function revealAll(): Promise<JsonRecord> {
      const { requester } = running();
      const values: JsonRecord = {};
      for (const key of secretKeys) {
        const value = await requester.reveal(type, name, key).catch((error: unknown) => {
          throw new Error(`${type}/${name}: secret output "${key}" cannot be revealed: ${(error as Error).message}`, {
            cause: error,
          });
        });
        expect(value, `secret output "${key}" is empty`).not.toBeNull();
        values[key] = value;
        (revealed[key] ??= []).push(value);
      }
      return values;
    }

    /** The engine's refreshing preview of the recorded spec must plan nothing; `after` says when. */
    async function expectConverged(after: string): Promise<void> {
      const resource = await resourceNow(running().requester);
      const preview = await running().service.enginePreview(type, name, (resource.resolvedSpec ?? {}) as JsonRecord);
      const planned = Object.entries(preview.steps).filter(([op]) => op !== "same");
      if (planned.length === 0) return;
      const changes = asText(preview.details.changes ?? []);
      // An update naming no changed property is the provider's `diff` saying "changed" about equal inputs.
      const unnamed = /"op":"update"/.test(changes) && !changes.includes('"diffs"');
      const suspect = unnamed
        ? " The provider's `diff` reports a change without naming any property: look there first."
        : "";
      expect.fail(
        `${type}/${name} does not converge: right after the ${after}, a refreshing engine preview of the recorded spec ` +
          `plans ${planned.map(([op, n]) => `${op} ${n}`).join(", ")} (${changes}). ${convergenceHooks}. ` +
          `Until it does, every reconcile round reports drift.${suspect}`,
      );
    }

    const createStep = "creates the resource; it is READY and really there";
    it(createStep, { timeout: changeMs * 2 }, async () => {
      const { requester } = running();
      const applied = await requester.apply(type, name, real.create);
      await settle(applied.change, createStep);
      await expectReady(createStep);
    });

    if (steps.convergence) {
      it("converges after the create: a refreshing engine preview plans nothing", { timeout: changeMs }, async () => {
        await expectConverged("create");
      });
    }

    let secretsAfterCreate: JsonRecord = {};
    if (steps.secrets && secretKeys.length > 0) {
      it(
        `reveals every secret output (${secretKeys.join(", ")}) to its owner; verify uses them`,
        { timeout: changeMs },
        async () => {
          secretsAfterCreate = await revealAll();
          if (!plugin.verify) return;
          const resource = await resourceNow(running().requester);
          const input = {
            name,
            spec: plugin.spec.parse(resource.resolvedSpec ?? {}),
            outputs: (resource.outputs ?? {}) as JsonObject,
            settings: parseSettings(plugin, running().infra.settings),
          };
          const withSecrets = await plugin.verify({ ...input, secretOutputs: secretsAfterCreate as JsonObject });
          expect(withSecrets, "verify with the revealed secret outputs").toMatchObject({ ready: true });
          // A verify that checks as an admin instead would still say ready with wrong secrets.
          const wrong = Object.fromEntries(secretKeys.map((key) => [key, `wrong-${key}-0123456789`])) as JsonObject;
          const withWrongSecrets = await plugin.verify({ ...input, secretOutputs: wrong });
          expect(
            withWrongSecrets.ready,
            `verify said ready with wrong values of ${secretKeys.join(", ")}: it does not check with the secret outputs it receives`,
          ).toBe(false);
        },
      );
    }

    if (steps.noOpReapply) {
      it("re-applying the same spec previews empty and changes nothing", { timeout: changeMs * 2 }, async () => {
        const { requester } = running();
        const preview = await requester.resources.previewResource({ type, name, spec: asStruct(real.create) });
        expect(preview.differences).toEqual([]);
        expect(preview.noOp).toBe(true);
        const before = await resourceNow(requester);
        const applied = await requester.apply(type, name, real.create);
        expect(applied.noOp).toBe(true);
        expect((await resourceNow(requester)).revision).toBe(before.revision);
        if (steps.secrets && secretKeys.length > 0) expect(await revealAll()).toEqual(secretsAfterCreate);
      });
    }

    if (steps.update && real.update) {
      const update = real.update;
      const updateStep = "updates it; the new spec is READY and really there";
      it(updateStep, { timeout: changeMs * 2 }, async () => {
        const { requester } = running();
        const before = await resourceNow(requester);
        const preview = await requester.resources.previewResource({ type, name, spec: asStruct(update) });
        expect(preview.noOp, "the update fixture must change something").toBe(false);
        const { ops } = await settle((await requester.apply(type, name, update)).change, updateStep);
        const sameIdentity =
          identityOf(plugin, name, real.create, parseSettings(plugin, running().infra.settings)) ===
          identityOf(plugin, name, update, parseSettings(plugin, running().infra.settings));
        if (sameIdentity && [...ops].some((op) => replaceOps.has(op))) {
          if (real.replacesOnUpdate) {
            report(
              `${updateStep}: an update that keeps the identity replaced the resource (declared with ` +
                `\`real.replacesOnUpdate\`): every change of ${type} is destructive and will wait for review`,
            );
          } else expect.fail(replaceFinding(updateStep));
        }
        const after = await expectReady(updateStep);
        expect(after.revision).toBeGreaterThan(before.revision);
      });

      if (steps.convergence) {
        it("converges after the update: a refreshing engine preview plans nothing", { timeout: changeMs }, async () => {
          await expectConverged("update");
        });
      }

      const kept = secretKeys.filter((key) => !rotated.has(key));
      if (steps.secrets && kept.length > 0) {
        it(`keeps its secret outputs (${kept.join(", ")}) across the update`, { timeout: changeMs }, async () => {
          const now = await revealAll();
          const changed = kept.filter((key) => asText(now[key]) !== asText(secretsAfterCreate[key]));
          expect(
            changed,
            "secret outputs that changed on an update that does not ask for a rotation (every client using them breaks); " +
              "declare a rotation the update asks for in the fixture's `rotatedByUpdate`",
          ).toEqual([]);
        });
      }
    }

    if (steps.drift && real.drift) {
      const drift = real.drift;
      const driftStep = "notices a change made behind its back (DRIFTED); ReconcileResource repairs it";
      const checkSecrets = steps.secrets && secretKeys.length > 0;
      it(
        checkSecrets ? `${driftStep}, keeping its secret outputs` : driftStep,
        { timeout: changeMs * 2 + timeouts.driftMs * 2 + timeouts.engineMs * 2 },
        async () => {
          const { requester } = running();
          const before = await resourceNow(requester);
          const secretsBefore = checkSecrets ? await revealAll() : {};
          await runFixtureHook(driftStep, "drift", "it should change the real thing behind Plinth's back", () =>
            drift(view(before)),
          );
          // Look as the reconciler does (refreshing preview, verify) before waiting on it, so a
          // plugin blind to the change fails now, naming the hooks that should have seen it.
          await noticedByAHook(before);
          const drifted = await waitFor(
            async () => {
              const resource = await resourceNow(requester);
              if (resource.status !== ResourceStatus.DRIFTED)
                throw new Error(`still ${ResourceStatus[resource.status]}`);
              return resource;
            },
            {
              what: `${type}/${name} marked DRIFTED by the reconciler (its preview or verify saw the change)`,
              timeoutMs: timeouts.driftMs,
            },
          );
          expect(drifted.drift?.findings.length).toBeGreaterThan(0);
          const repair = await requester.resources.reconcileResource({ type, name, requestId: `${name}-repair` });
          await settle(repair.change, driftStep);
          await waitFor(
            async () => {
              const resource = await resourceNow(requester);
              if (resource.status !== ResourceStatus.READY) throw new Error(`still ${ResourceStatus[resource.status]}`);
            },
            { what: `${type}/${name} READY after the repair`, timeoutMs: timeouts.driftMs },
          );
          await expectReady(driftStep);
          if (!checkSecrets) return;
          // A repair re-applies the same spec: nobody asked for a rotation (a `read` that cannot see a password,
          // then an `update` that makes a new one because the old is "missing", breaks every client).
          const after = await revealAll();
          const destroyed = new Set(real.rotatedByDrift ?? []);
          const changed = secretKeys.filter(
            (key) => !destroyed.has(key) && asText(after[key]) !== asText(secretsBefore[key]),
          );
          expect(
            changed,
            `${driftStep}: secret outputs that the drift repair rotated, though it re-applied the same spec; ` +
              "an update must keep a secret unless the spec asks for a rotation, also after a refresh (look at what " +
              "the provider's `read` returns for it, and at how `update` decides to make a new one); a drift that " +
              "destroys the secret itself is declared in the fixture's `rotatedByDrift`",
          ).toEqual([]);
        },
      );
    }

    /**
     * After the fixture's drift: the refreshing preview or `verify` must see
     * it. Asked twice (the real system may take a moment to show a change);
     * if neither does, fails naming the hooks that should have noticed.
     */
    async function noticedByAHook(resource: Resource): Promise<void> {
      const spec = (resource.resolvedSpec ?? {}) as JsonRecord;
      let said: string[] = [];
      for (let look = 0; look < 2; look++) {
        const preview = await running().service.enginePreview(type, name, spec);
        if (Object.entries(preview.steps).some(([op]) => op !== "same")) return;
        const verified = plugin.verify
          ? await plugin
              .verify({
                name,
                spec: plugin.spec.parse(spec),
                outputs: (resource.outputs ?? {}) as JsonObject,
                secretOutputs: secretsAfterCreate as JsonObject,
                settings: parseSettings(plugin, running().infra.settings),
              })
              .catch((error: unknown) => ({ ready: false, message: `threw: ${(error as Error).message}` }))
          : undefined;
        if (verified && !verified.ready) return;
        said = [
          "- the provider's `read` (Pulumi refresh) must return what is really there, and its `diff` must then report a change: a refreshing preview plans nothing",
          verified
            ? "- the plugin's `verify`: it still says ready; it must compare the real thing with the spec"
            : "- the plugin's `verify`: it has none (an independent check would have caught this)",
        ];
      }
      expect.fail(
        `${type}/${name}: the fixture's drift changed the real thing, but nothing noticed. The hooks that should have:\n${said.join("\n")}`,
      );
    }

    /** Every place a secret could land that the suite can read, as text. */
    async function placesToSearch(ids: readonly string[], resourceName: string): Promise<Record<string, string>> {
      const { requester, service: s } = running();
      const resource = await requester.resources.getResource({ type, name: resourceName }).then(
        (answer) => answer.resource,
        () => undefined,
      );
      const { revisions } = await requester.resources
        .listRevisions({ type, name: resourceName })
        .catch(() => ({ revisions: [] }));
      return {
        "plain outputs": asText(resource?.outputs ?? {}),
        GetResource: asText(resource ?? {}),
        ListResources: asText((await requester.resources.listResources({ type })).resources),
        ListRevisions: asText(revisions),
        GetRevision: asText(
          await Promise.all(
            revisions.map((revision) =>
              requester.resources.getRevision({ type, name: resourceName, revision: revision.revision }),
            ),
          ),
        ),
        "change events": events.join("\n"),
        "GetChange (the change, its last_error and events)": asText(
          await Promise.all(ids.map((id) => requester.changes.getChange({ id }))),
        ),
        "the service's logs": s.logs(),
        "the Pulumi state (every file or row of the backend)": await s.pulumiStateText(),
        "the store's rows (PostgreSQL)": await s.storeText(),
      };
    }

    const leakStep =
      "no secret value (revealed or generated) appears in outputs, GetResource, ListResources, revisions, changes, events, logs or the Pulumi state";
    if (steps.secrets) {
      it(leakStep, { timeout: changeMs }, async () => {
        const { requester, service: s } = running();
        const resource = await resourceNow(requester);
        const shaped = credentialShapedOutputs((resource.outputs ?? {}) as JsonRecord);
        expect(
          shaped,
          `${leakStep}: plain outputs that look like credentials: list them in the plugin's \`secretOutputs\``,
        ).toEqual([]);
        if (secretKeys.length > 0 && Object.keys(revealed).length === 0) await revealAll();
        const generated = s.generatedSecrets({ type, name });
        // Core scrubs an operation's errors of the secrets it generated only if it knows them before they are used.
        const unregistered = Object.entries(revealed)
          .filter(([, values]) =>
            values.some((value) => !secretNeedles(value).some((needle) => generated.some((g) => needle.includes(g)))),
          )
          .map(([key]) => key);
        expect(
          unregistered,
          `${leakStep}: secret outputs whose values the engine never heard of. Make them with \`generatePassword()\` ` +
            "of `@plinth/core/provider-helpers`, or pass a value made otherwise to its `registerSecret(value)` before " +
            "using it: otherwise an error of the operation that made it (a driver echoing the failed statement) " +
            "carries it into last_error, the change's events and the logs",
        ).toEqual([]);
        const found = findSecretValues(
          { ...revealed, [generatedKey]: generated },
          await placesToSearch(changeIds, name),
        );
        expect(found, `${leakStep}: where secret values were found`).toEqual([]);
      });
    }

    const failure = real.failAfterSecret;
    if (steps.secrets && failure) {
      const failStep =
        "a create that fails after generating its secret leaks it nowhere (last_error, events, logs, state)";
      it(failStep, { timeout: changeMs * 2 }, async () => {
        const { requester, service: s } = running();
        const failingName = `${name}-fails`;
        const applied = await requester.apply(type, failingName, failure.spec);
        const id = applied.change?.id ?? "";
        changeIds.push(id);
        const ended = await waitFor(
          async () => {
            const current = (await requester.changes.getChange({ id })).change;
            if (!current || !isFinalChangeStatus(current.status)) throw new Error("still running");
            return current;
          },
          { what: `${type}/${failingName}: the failing change ${id} to end`, timeoutMs: changeMs },
        );
        expect(
          ChangeStatus[ended.status],
          `${failStep}: \`real.failAfterSecret.spec\` must make the plugin fail after it generated its secret`,
        ).toBe("FAILED");
        const generated = s.generatedSecrets({ type, name: failingName });
        expect(
          generated.length,
          `${failStep}: the failing create generated no secret the engine knows of. Make secrets with ` +
            "`generatePassword()` of `@plinth/core/provider-helpers` (or `registerSecret(value)` them) before using " +
            "them, so core can scrub them from the failure it reports",
        ).toBeGreaterThan(0);
        const found = findSecretValues({ [generatedKey]: generated }, await placesToSearch([id], failingName));
        expect(found, `${failStep}: where the secret generated by the failed create was found`).toEqual([]);
        await requester.delete(type, failingName).catch(() => undefined);
      });
    }

    if (steps.delete) {
      const deleteStep = "deletes it; it is DELETED and really gone";
      it(deleteStep, { timeout: changeMs * 2 }, async () => {
        const checkGone = real.checkGone;
        if (!checkGone) expect.fail(missingCheckGone(deleteStep));
        const { requester } = running();
        const last = view(await resourceNow(requester));
        await settle((await requester.delete(type, name)).change, deleteStep);
        const gone = await requester.resources.getResource({ type, name }).then(
          ({ resource }) => resource,
          () => undefined,
        );
        if (gone) expect(ResourceStatus[gone.status], `${deleteStep}: the resource's status`).toBe("DELETED");
        if (typeof checkGone === "function") {
          await runFixtureHook(
            deleteStep,
            "checkGone",
            "Plinth says DELETED (the plugin's `verifyGone` agreed), but your own look at the real system still " +
              "finds it: the provider's `delete` did not remove it, and `verifyGone` does not really look",
            () => checkGone(last),
          );
        } else report(`${deleteStep}: no independent gone-check: ${checkGone.none}`);
      });
    }
  });
}
