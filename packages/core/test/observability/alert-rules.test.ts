import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promtoolBinary, repoRoot, waitFor } from "@plinth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createMetrics } from "../../src/observability/metrics.ts";
import { watchToEnd } from "../support/connect-helpers.ts";
import { runRunbook } from "../support/runbook.ts";
import { type TestService, startTestService } from "../support/test-service.ts";

const rulesDir = join(repoRoot, "deploy/prometheus");

/**
 * docs/operating.md's command that checks the rules and runs their tests, in `root` (a checkout, or a folder
 * holding a copy of deploy/prometheus): its exit status and what it printed.
 */
async function promtoolTest(root: string): Promise<{ ok: boolean; output: string }> {
  const env = { PATH: `${dirname(promtoolBinary())}:${process.env.PATH}` };
  try {
    return { ok: true, output: await runRunbook("alert-tests", { cwd: root, env }) };
  } catch (error) {
    return { ok: false, output: (error as Error).message };
  }
}

/** The alert rules as Prometheus reads them. */
function alertRules(): { alert: string; expr: string }[] {
  const file = parse(readFileSync(join(rulesDir, "plinth-rules.yaml"), "utf8")) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return file.groups.flatMap((group) => group.rules);
}

describe("deploy/prometheus/plinth-rules.yaml", () => {
  it("passes its promtool unit tests", async () => {
    const result = await promtoolTest(repoRoot);
    expect(result.output).toContain("SUCCESS: 12 rules found");
    expect(result.output).toMatch(/Unit Testing:\s+deploy\/prometheus\/plinth-rules\.test\.yaml\n\s+SUCCESS/);
    expect(result.ok).toBe(true);
  });

  // Each rule's test must catch that rule being wrong: a copy with one rule
  // broken (a threshold moved, a label lost) must fail, naming that alert.
  it.each([
    { alert: "PlinthChangePendingReviewTooLong", from: "> 4 * 3600", to: "> 5 * 3600" },
    { alert: "PlinthChangeStuck", from: 'status=~"APPLYING|QUEUED"', to: 'status="APPLYING"' },
    { alert: "PlinthChangeFailureRateHigh", from: ") > 0.25", to: ") > 0.6" },
    {
      alert: "PlinthResourcesDrifted",
      from: 'max by (type) (plinth_resources{status="DRIFTED"}',
      to: 'max(plinth_resources{status="DRIFTED"}',
    },
    { alert: "PlinthReconcileLate", from: "and plinth_reconcile_interval_seconds > 0", to: "" },
    { alert: "PlinthStoreRefusingWork", from: "for: 1m", to: "for: 10m" },
    { alert: "PlinthSecretRevealRateHigh", from: "[1h])) > 20", to: "[1h])) > 5" },
    { alert: "PlinthApiErrorRateHigh", from: "Internal|Unknown|DataLoss|Unavailable|", to: "Internal|" },
    { alert: "PlinthReplicaDown", from: 'up{job=~"plinth.*"}', to: "up" },
    { alert: "PlinthResourcesFailed", from: "for: 30m", to: "for: 10m" },
    {
      alert: "PlinthOutboxStuck",
      from: "max(plinth_outbox_oldest_due_seconds) > 600",
      to: "max(plinth_outbox_oldest_due_seconds) > 60",
    },
    { alert: "PlinthWebhookDeliveriesFailing", from: '{outcome!="delivered"}', to: "" },
  ])("fails when $alert is broken", async ({ alert, from, to }) => {
    const root = mkdtempSync(join(tmpdir(), "plinth-rules-"));
    const dir = join(root, "deploy/prometheus");
    cpSync(rulesDir, dir, { recursive: true });
    const rules = readFileSync(join(dir, "plinth-rules.yaml"), "utf8");
    expect(rules.split(from)).toHaveLength(2);
    writeFileSync(join(dir, "plinth-rules.yaml"), rules.replace(from, to));
    const result = await promtoolTest(root).finally(() => rmSync(root, { recursive: true, force: true }));
    expect(result.ok).toBe(false);
    expect(result.output).toContain(`alertname: ${alert}`);
    // Only the broken rule's tests fail.
    const failing = new Set([...result.output.matchAll(/alertname: (\w+)/g)].map((match) => match[1]));
    expect([...failing]).toEqual([alert]);
  });

  it("has one alert per concern, each with a severity and a summary", () => {
    const file = parse(readFileSync(join(rulesDir, "plinth-rules.yaml"), "utf8")) as {
      groups: { rules: { alert: string; labels: { severity: string }; annotations: { summary: string } }[] }[];
    };
    for (const rule of file.groups.flatMap((group) => group.rules)) {
      expect(["warning", "critical"]).toContain(rule.labels.severity);
      expect(rule.annotations.summary).toBeTruthy();
    }
    expect(alertRules()).toHaveLength(12);
  });
});

describe("the metrics the alert rules read", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ config: { reconcile: { intervalMs: 200 } } });
  });
  afterAll(async () => {
    await service?.close();
  });
  const scrape = async () => await (await fetch(`${service.url}/metrics`)).text();

  it("are all served on /metrics", async () => {
    const served = new Set([...(await scrape()).matchAll(/^# TYPE (\w+) (\w+)$/gm)].map((match) => match[1]));
    const used = new Set(alertRules().flatMap((rule) => [...rule.expr.matchAll(/\bplinth_\w+/g)].map((m) => m[0])));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) {
      // A histogram is served under its base name; rules read its _count, _sum or _bucket series.
      expect(served, name).toContain(name.replace(/_(count|sum|bucket)$/, ""));
    }
  });

  it("report DRIFTED resources, the oldest change pending review and reveals by type", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "watched",
      spec: { size: 1 },
      requestId: "watched-1",
    });
    await watchToEnd(alice, created.change!.id);
    // The fake engine's preview always finds a difference: the reconciler marks the widget DRIFTED.
    await waitFor(
      async () => {
        if (!/^plinth_resources\{type="test\.widget",status="DRIFTED"\} 1$/m.test(await scrape())) {
          throw new Error("not counted as DRIFTED yet");
        }
      },
      { what: "the drifted widget in plinth_resources", timeoutMs: 30_000 },
    );
    // A delete needs a review by default: it waits in PENDING_REVIEW.
    await alice.resources.deleteResource({ type: "test.widget", name: "watched", requestId: "watched-2" });
    await alice.resources.revealSecret({ type: "test.widget", name: "watched", key: "serial" });

    const metrics = await scrape();
    expect(metrics).toMatch(/^plinth_change_oldest_age_seconds\{status="PENDING_REVIEW"\} \d/m);
    expect(metrics).toMatch(/^plinth_secret_reveals_total\{type="test\.widget"\} 1$/m);
    expect(metrics).toMatch(/^plinth_store_refusing 0$/m);
    expect(metrics).toMatch(/^plinth_outbox_pending 0$/m);
    expect(metrics).toMatch(/^plinth_outbox_oldest_due_seconds 0$/m);
  });

  it("report the reconciler's interval and when its last round ended", async () => {
    const before = Date.now() / 1000;
    const metrics = await waitFor(
      async () => {
        const text = await scrape();
        const end = Number(/^plinth_reconcile_last_round_end_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
        if (!(end > before)) throw new Error("no round has ended since the test began");
        return text;
      },
      { what: "a reconcile round to end", timeoutMs: 30_000 },
    );
    expect(metrics).toMatch(/^plinth_reconcile_interval_seconds 0\.2$/m);
    expect(metrics).toMatch(/^plinth_reconcile_rounds_total\{outcome="ok"\} [1-9]/m);
    expect(metrics).toMatch(/^plinth_reconcile_round_duration_seconds_count [1-9]/m);
  });

  it("report a store that refuses work", async () => {
    const refusing = Object.create(service.store, {
      refusal: { value: () => "the disk is full" },
    }) as typeof service.store;
    const metrics = await createMetrics(refusing).registry.metrics();
    expect(metrics).toMatch(/^plinth_store_refusing 1$/m);
  });
});
