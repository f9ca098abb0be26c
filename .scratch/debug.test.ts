import { createTestService, startKafka } from "@plinth/testing";
import { it } from "vitest";

it("debug", { timeout: 300_000 }, async () => {
  const broker = await startKafka();
  const s = await createTestService({
    plugins: [{ module: new URL("../packages/plugin-kafka/src/index.ts", import.meta.url).href, export: "kafkaTopic",
      settings: { clusters: { local: { bootstrapServers: [broker.bootstrapServers], brokers: 1 } } } }],
    settings: { reconcile: { intervalMs: Number(process.env.RI ?? 500) } },
  });
  const c = s.client("requester");
  const owner = { team: "payments", contact: "#payments" };
  const t0 = Date.now();
  const show = async (id: string) => {
    const ch = await c.waitForChange(id, { onEvent: (e) => console.log(Date.now() - t0, e.status, e.kind, e.message) });
    console.log("final", ch.status, ch.lastError);
  };
  const a = await c.apply("kafka.topic", "dbg.v1", { cluster: "local", owner, partitions: 2 });
  await show(a.change!.id);
  const b = await c.apply("kafka.topic", "dbg.v1", { cluster: "local", owner, partitions: 3, config: { "retention.ms": 7_200_000 } });
  console.log("update status", b.change?.status);
  await Promise.race([show(b.change!.id), new Promise((r) => setTimeout(r, 60_000))]);
  const ch = await c.changes.getChange({ id: b.change!.id });
  console.log("after 60s", ch.change?.status, ch.change?.lastError);
  await s.close();
  await broker.stop();
});
