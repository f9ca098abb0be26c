import { once } from "node:events";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaSettings, kafkaTopic } from "../src/index.ts";
import { ctx, topicSpec } from "./support/fixtures.ts";

/** A stand-in Prometheus: answers /api/v1/query from a table keyed by the query text. */
const answers = new Map<string, { status: number; body: unknown }>();
const vector = (...values: string[]) => ({
  status: 200,
  body: {
    status: "success",
    data: { resultType: "vector", result: values.map((value) => ({ metric: {}, value: [1, value] })) },
  },
});

describe("verify through a Prometheus query", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      const query = new URL(request.url ?? "", "http://x").searchParams.get("query") ?? "";
      const answer = answers.get(query) ?? {
        status: 400,
        body: { status: "error", error: `unexpected query ${query}` },
      };
      response.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  const verify = (topic: string, prometheusUrl = url) => {
    const settings = KafkaSettings.parse({
      clusters: {
        main: {
          // Nothing listens here: the admin client must not be used when Prometheus decides.
          bootstrapServers: ["127.0.0.1:1"],
          verify: {
            prometheus: {
              url: prometheusUrl,
              query: 'sum(kafka_log_size{cluster="{{cluster}}",topic="{{topic}}"})',
              timeoutMs: 2_000,
            },
          },
        },
      },
    });
    const spec = kafkaTopic.defaults!(topic, topicSpec(), { ...ctx, settings }).spec;
    return kafkaTopic.verify!({ name: topic, spec, outputs: {}, settings });
  };
  const query = (topic: string) => `sum(kafka_log_size{cluster="main",topic="${topic}"})`;

  it.each([
    { why: "non-zero disk usage means the topic exists", topic: "has-data", answer: vector("4096"), ready: true },
    { why: "zero usage is not ready yet", topic: "empty", answer: vector("0"), ready: false },
    { why: "no series is not ready yet", topic: "absent", answer: vector(), ready: false },
    { why: "any non-zero series counts", topic: "mixed", answer: vector("0", "12"), ready: true },
    {
      why: "a query error is not ready",
      topic: "broken",
      answer: { status: 422, body: { status: "error", error: "bad" } },
      ready: false,
    },
  ])("$why", async ({ topic, answer, ready }) => {
    answers.set(query(topic), answer);
    expect((await verify(topic)).ready).toBe(ready);
  });

  it("is not ready (and does not throw) when Prometheus is unreachable", async () => {
    const result = await verify("has-data", "http://127.0.0.1:1");
    expect(result.ready).toBe(false);
    expect(result.message).toBeTruthy();
  });
});
