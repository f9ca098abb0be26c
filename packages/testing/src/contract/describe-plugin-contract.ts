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
import { createTestService } from "./create-test-service.ts";
import { contextOf, parseSettings, refusedFields, resolveSpec } from "./plugin-checks.ts";
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
export function describePluginContract(plugin: AnyPlugin, fixtures: PluginContractFixtures): void {
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

    if (fixtures.real) describeRealLifecycle(plugin, fixtures.real);
  });
}

function identityOf(plugin: AnyPlugin, name: string, spec: JsonRecord, settings: unknown): string {
  const resolved = resolveSpec(plugin, name, spec, settings);
  const identity = plugin.identity ? plugin.identity(name, plugin.spec.parse(resolved), contextOf(settings)) : name;
  expect(typeof identity, "identity returns a string").toBe("string");
  return identity;
}

let lifecycleCount = 0;

function describeRealLifecycle(plugin: AnyPlugin, real: RealContractFixture): void {
  const steps = {
    noOpReapply: real.steps?.noOpReapply ?? true,
    update: (real.steps?.update ?? true) && real.update !== undefined,
    drift: (real.steps?.drift ?? true) && real.drift !== undefined,
    delete: real.steps?.delete ?? true,
  };
  const name = real.name ?? `contract-${process.pid}-${++lifecycleCount}`;
  const stepTimeoutMs = real.stepTimeoutMs ?? 120_000;
  const type = plugin.type;

  describe("against real infrastructure", { timeout: stepTimeoutMs * 3 }, () => {
    let infra: RealInfrastructure | undefined;
    let service: TestService | undefined;
    const running = () => {
      if (!service || !infra) throw new Error("the real infrastructure or the test service did not start");
      return { service, infra, requester: service.client("requester") };
    };

    beforeAll(async () => {
      infra = await real.setup();
      service = await createTestService({
        plugins: [{ ...real.plugin, settings: infra.settings }],
        // The reconciler looks often, so drift shows within seconds.
        settings: { reconcile: { intervalMs: steps.drift ? 500 : 0 }, ...real.service },
      });
    }, stepTimeoutMs);

    afterAll(async () => {
      await service?.close();
      await infra?.stop?.();
    }, stepTimeoutMs);

    const view = (resource: Resource): RealResourceView => ({
      name,
      spec: (resource.resolvedSpec ?? {}) as JsonRecord,
      outputs: (resource.outputs ?? {}) as JsonRecord,
      settings: running().infra.settings,
    });

    /**
     * Follows a change to its end, approving it as a reviewer whenever it
     * waits for review (a plugin may ask for review at submit time, or after
     * the engine's preview shows something destructive).
     */
    async function settle(change: Change | undefined): Promise<Change> {
      if (!change) throw new Error("the server returned no change");
      const { service: s } = running();
      const reviewers = ["reviewer", "reviewer2", "admin"];
      // The change's own story, for the failure message.
      const story: string[] = [];
      const watching = new AbortController();
      s.client("requester")
        .waitForChange(change.id, {
          signal: watching.signal,
          onEvent: (event) => story.push(`${event.kind}: ${event.message}`),
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
          { what: `${type}/${name}: change ${change.id} to end`, timeoutMs: stepTimeoutMs },
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}\nits events:\n  ${story.join("\n  ")}`, { cause: error });
      } finally {
        watching.abort();
      }
      if (final.status !== ChangeStatus.SUCCEEDED) {
        throw new Error(
          `${type}/${name}: change ${final.id} ended ${ChangeStatus[final.status]}: ${final.lastError || "(no error)"}`,
        );
      }
      return final;
    }

    async function resourceNow(client: PlinthClient): Promise<Resource> {
      return await client.get(type, name);
    }

    async function expectReady(): Promise<Resource> {
      const resource = await resourceNow(running().requester);
      expect(ResourceStatus[resource.status]).toBe("READY");
      await real.check?.(view(resource));
      return resource;
    }

    it("creates the resource; it is READY and really there", { timeout: stepTimeoutMs * 2 }, async () => {
      const { requester } = running();
      const applied = await requester.apply(type, name, real.create);
      await settle(applied.change);
      await expectReady();
    });

    if (steps.noOpReapply) {
      it("re-applying the same spec previews empty and changes nothing", { timeout: stepTimeoutMs * 2 }, async () => {
        const { requester } = running();
        const preview = await requester.resources.previewResource({ type, name, spec: asStruct(real.create) });
        expect(preview.differences).toEqual([]);
        expect(preview.noOp).toBe(true);
        const before = await resourceNow(requester);
        const applied = await requester.apply(type, name, real.create);
        expect(applied.noOp).toBe(true);
        expect((await resourceNow(requester)).revision).toBe(before.revision);
      });
    }

    if (steps.update && real.update) {
      const update = real.update;
      it("updates it; the new spec is READY and really there", { timeout: stepTimeoutMs * 2 }, async () => {
        const { requester } = running();
        const before = await resourceNow(requester);
        const preview = await requester.resources.previewResource({ type, name, spec: asStruct(update) });
        expect(preview.noOp, "the update fixture must change something").toBe(false);
        await settle((await requester.apply(type, name, update)).change);
        const after = await expectReady();
        expect(after.revision).toBeGreaterThan(before.revision);
      });
    }

    if (steps.drift && real.drift) {
      const drift = real.drift;
      it(
        "notices a change made behind its back (DRIFTED); ReconcileResource repairs it",
        { timeout: stepTimeoutMs * 4 },
        async () => {
          const { requester } = running();
          await drift(view(await resourceNow(requester)));
          const drifted = await waitFor(
            async () => {
              const resource = await resourceNow(requester);
              if (resource.status !== ResourceStatus.DRIFTED)
                throw new Error(`still ${ResourceStatus[resource.status]}`);
              return resource;
            },
            { what: `${type}/${name} marked DRIFTED`, timeoutMs: stepTimeoutMs },
          );
          expect(drifted.drift?.findings.length).toBeGreaterThan(0);
          const repair = await requester.resources.reconcileResource({ type, name, requestId: `${name}-repair` });
          await settle(repair.change);
          await waitFor(
            async () => {
              const resource = await resourceNow(requester);
              if (resource.status !== ResourceStatus.READY) throw new Error(`still ${ResourceStatus[resource.status]}`);
            },
            { what: `${type}/${name} READY after the repair`, timeoutMs: stepTimeoutMs },
          );
          await expectReady();
        },
      );
    }

    if (steps.delete) {
      it("deletes it; it is DELETED and really gone", { timeout: stepTimeoutMs * 2 }, async () => {
        const { requester } = running();
        const last = view(await resourceNow(requester));
        await settle((await requester.delete(type, name)).change);
        const gone = await requester.resources.getResource({ type, name }).then(
          ({ resource }) => resource,
          () => undefined,
        );
        if (gone) expect(ResourceStatus[gone.status]).toBe("DELETED");
        await real.checkGone?.(last);
      });
    }
  });
}
