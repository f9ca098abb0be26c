import { Code, ConnectError } from "@connectrpc/connect";
import { ChangeStatus, createPlinthClient } from "@plinth/sdk";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaPluginModule, startRealService, topicPartitions } from "../../core/test/support/real-service.ts";
import { type TestService, principals } from "../../core/test/support/test-service.ts";
import {
  type KafkaBroker,
  type PrometheusServer,
  type SchemaRegistry,
  startKafka,
  startPrometheus,
  produce,
  startSchemaRegistry,
  waitFor,
} from "../../testing/src/index.ts";
import type { SchemaSpecInput } from "../../plugin-kafka/src/index.ts";
import {
  accessibilityViolations,
  buildConsole,
  distDir,
  launchChromium,
  newPerson,
  screenshot,
  screenshotBothWidths,
  signIn,
} from "./support/browser.ts";

// Everything real: the built console in Debian's Chromium, the server, the
// Pulumi engine with the kafka.topic and kafka.schema plugins, a Kafka broker
// with its metrics exporter, a Prometheus scraping it and a schema registry.
describe("Kafka topics in the console", { timeout: 600_000 }, () => {
  let broker: KafkaBroker;
  let registry: SchemaRegistry;
  let prometheus: PrometheusServer;
  let service: TestService;
  let browser: Browser;
  const topic = "orders.console.v1";
  beforeAll(async () => {
    buildConsole();
    // A loaded machine starts both slowly.
    [broker, registry, prometheus] = await Promise.all([
      startKafka({ startTimeoutMs: 300_000, metrics: true }),
      startSchemaRegistry({ startTimeoutMs: 300_000 }),
      startPrometheus({ startTimeoutMs: 300_000 }),
    ]);
    await prometheus.setScrape([{ job: "kafka", target: broker.metricsTarget!, labels: { cluster: "local" } }]);
    service = await startRealService(broker.bootstrapServers, {
      config: {
        console: { dir: distDir },
        plugins: [
          {
            module: kafkaPluginModule,
            export: "kafkaTopic",
            settings: {
              clusters: {
                // The topic pages' numbers from Prometheus; topics are verified through the admin client alone.
                local: { bootstrapServers: [broker.bootstrapServers], brokers: 1, summary: { url: prometheus.url } },
              },
            },
          },
          {
            module: kafkaPluginModule,
            export: "kafkaSchema",
            settings: { registries: { local: { url: registry.url } } },
          },
        ],
      },
    });
    browser = await launchChromium();
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await Promise.all([registry?.stop(), broker?.stop(), prometheus?.stop()]);
  });

  it("a topic's page lists the schema subjects bound to it, each with its schema (issue 26)", async () => {
    const alice = createPlinthClient({ baseUrl: service.url, token: principals.requester.token });
    const owner = { team: "payments", contact: "#payments" };
    for (const name of ["invoices.console.v1", "refunds.console.v1"]) {
      const made = await alice.apply("kafka.topic", name, { cluster: "local", owner, partitions: 1 });
      expect((await alice.waitForChange(made.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    }
    const value = JSON.stringify({ type: "record", name: "Invoice", fields: [{ name: "id", type: "string" }] });
    const subjects: { name: string; spec: SchemaSpecInput }[] = [
      { name: "invoices.console.v1-value", spec: { cluster: "local", topic: "invoices.console.v1", schema: value } },
      {
        name: "invoices.console.v1-key",
        spec: {
          cluster: "local",
          topic: "invoices.console.v1",
          part: "key",
          schema: '"string"',
          compatibility: "FULL",
        },
      },
      // Another topic's subject stays off this page.
      { name: "refunds.console.v1-value", spec: { cluster: "local", topic: "refunds.console.v1", schema: value } },
    ];
    for (const { name, spec } of subjects) {
      const made = await alice.apply("kafka.schema", name, spec);
      expect((await alice.waitForChange(made.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    }

    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.requester.token);
    await page.goto(`${service.url}/resources/kafka.topic/invoices.console.v1`);
    const table = page.getByTestId("topic-schemas");
    // Loaded directly, as a bookmark would: the topic's dotted name is a page, not a file.
    await table.waitFor();
    const rows = async () =>
      await Promise.all(
        (await table.locator("tbody tr").all()).map(async (row) => await row.locator("td").allTextContents()),
      );
    expect((await rows()).map((cells) => cells.slice(1))).toEqual([
      ["key", "AVRO", "FULL", "1", "ready"],
      ["value", "AVRO", "BACKWARD", "1", "ready"],
    ]);
    // Each subject opens its schema, laid out to read, and links to its own page.
    const valueRow = table.locator('tr[data-subject="invoices.console.v1-value"]');
    await valueRow.getByText("Schema of invoices.console.v1-value").click();
    expect(JSON.parse((await page.getByTestId("schema-text-invoices.console.v1-value").textContent()) ?? "")).toEqual(
      JSON.parse(value),
    );
    await screenshot(page, "topic-schemas");
    await valueRow.getByRole("link", { name: "invoices.console.v1-value" }).click();
    await expect
      .poll(() => page.getByRole("heading", { level: 1 }).textContent())
      .toBe("kafka.schema/invoices.console.v1-value");

    // The other topic's page lists only its own subject.
    await page.goto(`${service.url}/resources/kafka.topic/refunds.console.v1`);
    await expect
      .poll(async () => await page.getByTestId("topic-schemas").locator("tbody tr").getAttribute("data-subject"))
      .toBe("refunds.console.v1-value");
  });

  it("a topic's page shows its partitions and its log size over the last hours from Prometheus, and says what it cannot read (issue 27)", async () => {
    const alice = createPlinthClient({ baseUrl: service.url, token: principals.requester.token });
    const topic = "metrics.console.v1";
    const made = await alice.apply("kafka.topic", topic, {
      cluster: "local",
      owner: { team: "payments", contact: "#payments" },
      partitions: 3,
    });
    expect((await alice.waitForChange(made.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    await produce(
      broker.bootstrapServers,
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `order ${i} `.repeat(20) })),
    );

    // Read by someone of another team: whoever may read the resource may read its summary.
    const olga = createPlinthClient({ baseUrl: service.url, token: principals.outsider.token });
    const logSize = `sum(kafka_log_size{cluster="local",topic="${topic}"})`;
    const fact = (
      summary: { facts: { label: string; value: number; unit: string; source: string }[] },
      label: string,
    ) => summary.facts.find((f) => f.label === label);
    expect(
      fact(await olga.resources.getResourceSummary({ type: "kafka.topic", name: topic }), "Partitions")?.value,
    ).toBe(3);
    // The summary's log size is Prometheus's, once a scrape after the writes has it.
    const { summary, bytes } = await waitFor(
      async () => {
        const [sample] = await prometheus.query(logSize);
        const read = await olga.resources.getResourceSummary({ type: "kafka.topic", name: topic });
        if (!sample || sample.value === 0) throw new Error("Prometheus has no size of the topic yet");
        if (fact(read, "Log size")?.value !== sample.value)
          throw new Error(`summary ${fact(read, "Log size")?.value}, Prometheus ${sample.value}`);
        return { summary: read, bytes: sample.value };
      },
      { what: `${topic}'s log size in its summary`, timeoutMs: 120_000 },
    );
    expect(fact(summary, "Partitions")).toEqual(expect.objectContaining({ value: 3, unit: "count", source: "spec" }));
    expect(fact(summary, "Log size")).toEqual(expect.objectContaining({ unit: "bytes", source: "Prometheus" }));
    const [series] = summary.series;
    expect(series).toEqual(expect.objectContaining({ label: "Log size, last 6 h", unit: "bytes" }));
    expect(series!.points.at(-1)!.value).toBe(bytes);
    // The brokers export no consumer lag, and the page must say so rather than show nothing.
    expect(summary.missing).toEqual([expect.stringMatching(/^consumer lag: the brokers do not export it/)]);
    const anonymous = createPlinthClient({ baseUrl: service.url });
    const refused = await anonymous.resources.getResourceSummary({ type: "kafka.topic", name: topic }).then(
      () => "answered",
      (error: unknown) => ConnectError.from(error).code,
    );
    expect(refused).toBe(Code.Unauthenticated);

    const page = await (await newPerson(browser)).newPage();
    await signIn(page, service.url, principals.requester.token);
    await page.goto(`${service.url}/resources/kafka.topic/${topic}`);
    const facts = page.getByTestId("resource-summary");
    await facts.waitFor();
    expect(await facts.locator('dd[data-fact="Partitions"]').textContent()).toBe("3 (spec)");
    expect(Number(await facts.locator('dd[data-fact="Log size"]').getAttribute("data-value"))).toBe(bytes);
    expect(await facts.locator('dd[data-fact="Log size"]').textContent()).toContain(
      `(${bytes.toLocaleString("en")} bytes)`,
    );
    const chart = page.getByTestId("summary-series-Log size, last 6 h");
    expect(await chart.getByRole("img").getAttribute("aria-label")).toMatch(/^Log size, last 6 h: .* now; between /);
    expect(await page.getByTestId("summary-missing").textContent()).toContain("consumer lag");
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshotBothWidths(page, "topic-summary");

    // Prometheus down: the facts it can still give, and what is missing in words; not an error page.
    await prometheus.halt();
    try {
      const down = await olga.resources.getResourceSummary({ type: "kafka.topic", name: topic });
      expect(down.facts.map((f) => f.label)).toEqual(["Partitions", "Replication factor"]);
      expect(down.series).toEqual([]);
      expect(down.missing[0]).toMatch(/^log size: Prometheus at http:\/\/127\.0\.0\.1:\d+ unreachable: /);
      await page.reload();
      await expect.poll(() => page.getByTestId("summary-missing").textContent()).toContain("log size: Prometheus");
      expect(await facts.locator('dd[data-fact="Partitions"]').textContent()).toBe("3 (spec)");
      expect(await page.getByRole("alert").count()).toBe(0);
      expect(await accessibilityViolations(page)).toEqual([]);
      await screenshot(page, "topic-summary-prometheus-down");
    } finally {
      await prometheus.resume();
    }
  });

  it("requester asks, cannot approve; reviewer approves; both pages follow it to DELETED", async () => {
    const alice = createPlinthClient({ baseUrl: service.url, token: principals.requester.token });
    const created = await alice.apply(
      "kafka.topic",
      topic,
      { cluster: "local", owner: { team: "payments", contact: "#payments" }, partitions: 3 },
      { comment: "orders for the console test" },
    );
    expect((await alice.waitForChange(created.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    const grown = await alice.apply("kafka.topic", topic, {
      cluster: "local",
      owner: { team: "payments", contact: "#payments" },
      partitions: 6,
    });
    expect((await alice.waitForChange(grown.change!.id)).status).toBe(ChangeStatus.SUCCEEDED);
    expect(await topicPartitions(broker.bootstrapServers, topic)).toBe(6);

    // A wrong token is refused in words, on the sign-in form.
    const stranger = await (await newPerson(browser)).newPage();
    await stranger.goto(service.url);
    await stranger.getByLabel("API token").fill("not-a-token");
    await stranger.getByRole("button", { name: "Sign in" }).click();
    await expect
      .poll(() => stranger.getByRole("alert").textContent())
      .toBe("The token was not accepted (unknown or revoked): sign in again with a valid token.");

    // The requester signs in and sees who they are.
    const requesterTab = await (await newPerson(browser)).newPage();
    await signIn(requesterTab, service.url, principals.requester.token);
    await expect.poll(() => requesterTab.getByTestId("me").textContent()).toBe("alice");
    expect(await requesterTab.getByTestId("roles").textContent()).toBe("requester");

    // ...finds the topic and requests its deletion with the page's delete button.
    await requesterTab.getByRole("link", { name: "Resources" }).click();
    await requesterTab.getByRole("link", { name: `kafka.topic/${topic}` }).click();
    await expect.poll(() => requesterTab.getByTestId("resource-status").textContent()).toBe("ready");
    // Its history: two revisions, compared (previous → latest) by default.
    const revisionDiff = requesterTab.getByTestId("spec-diff");
    await expect.poll(() => revisionDiff.textContent()).toContain("revision 1 → 2");
    expect(await revisionDiff.locator("tr.op-changed").allTextContents()).toEqual([
      expect.stringMatching(/^partitions.*36$/),
    ]);
    await requesterTab.getByRole("button", { name: "Delete" }).click();
    await requesterTab.getByLabel(`Why delete ${topic}?`, { exact: false }).fill("orders moved to orders.v2");
    await requesterTab.getByRole("button", { name: "Request: delete" }).click();

    // The change page: pending, and the requester's own approve button is disabled with the reason.
    await requesterTab.waitForURL(/\/changes\/chg_/);
    const changeId = decodeURIComponent(new URL(requesterTab.url()).pathname.split("/").at(-1)!);
    await expect.poll(() => requesterTab.getByTestId("change-status").textContent()).toContain("pending review");
    expect(await requesterTab.getByRole("button", { name: "Approve" }).isDisabled()).toBe(true);
    expect(await requesterTab.getByTestId("review-blocked").textContent()).toBe(
      "You requested this change: another reviewer must approve or reject it.",
    );
    expect(await requesterTab.getByTestId("preview").textContent()).toContain("Destructive");

    // The queue shows it pending, with who asked and what is needed.
    const reviewerTab = await (await newPerson(browser)).newPage();
    await signIn(reviewerTab, service.url, principals.reviewer.token);
    await reviewerTab.goto(`${service.url}/queue`);
    const row = reviewerTab.locator(`tr[data-change-id="${changeId}"]`);
    await row.waitFor();
    const cells = await row.locator("td").allTextContents();
    // The id's random tail, which tells it apart from changes submitted the same minute.
    const shortId = `…${changeId.slice(-8)}`;
    expect(cells).toEqual([
      shortId,
      `kafka.topic/${topic}`,
      "delete",
      "alice",
      "payments",
      expect.stringMatching(/^\d+ (s|min)$/),
      "0 of 1",
      "pending review",
    ]);
    await screenshot(reviewerTab, "queue");

    // The reviewer opens it from the queue, reads it and approves with a comment.
    await row.getByRole("link", { name: shortId }).click();
    await expect.poll(() => reviewerTab.getByTestId("requested-by").textContent()).toBe("alice");
    expect(await reviewerTab.getByTestId("spec-diff").textContent()).toContain("After (deleted)");
    await screenshot(reviewerTab, "change-pending");
    // Where the page's sections sit before the live updates start: they must not move.
    const sections = ["What is asked", "What the engine will do", "Your review", "History"];
    const positions = async () =>
      await Promise.all(
        sections.map(async (name) => (await reviewerTab.getByRole("heading", { name }).boundingBox())?.y),
      );
    const before = await positions();
    // Keyboard only: from the comment box, Tab reaches Approve and Enter presses it.
    await reviewerTab.getByLabel("Comment").focus();
    await reviewerTab.keyboard.type("no consumers left, go ahead");
    await reviewerTab.keyboard.press("Tab");
    const approve = reviewerTab.getByRole("button", { name: "Approve" });
    expect(await approve.evaluate((button) => button.matches(":focus"))).toBe(true);
    await reviewerTab.keyboard.press("Enter");

    // Both pages follow the change live (WatchChange) to the end, without a reload.
    for (const tab of [reviewerTab, requesterTab]) {
      await expect
        .poll(() => tab.getByTestId("change-status").textContent(), { timeout: 180_000, interval: 500 })
        .toContain("succeeded");
      await expect.poll(() => tab.getByTestId("resource-outcome").textContent()).toContain("is now deleted");
      expect(await tab.getByTestId("history").textContent()).toContain("no consumers left, go ahead");
    }
    expect(await positions()).toEqual(before);
    await screenshot(reviewerTab, "change-deleted");
    await reviewerTab.setViewportSize({ width: 390, height: 844 });
    await screenshot(reviewerTab, "change-deleted-narrow");
    expect(await topicPartitions(broker.bootstrapServers, topic)).toBeUndefined();

    // The resource page agrees: DELETED, with its revision history kept.
    await requesterTab.getByTestId("resource-outcome").getByRole("link").click();
    await expect.poll(() => requesterTab.getByTestId("resource-status").textContent()).toBe("deleted");
    expect(await requesterTab.getByTestId("revisions").locator("tbody tr").count()).toBe(3);
  });
});
