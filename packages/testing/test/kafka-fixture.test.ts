import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { Admin } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { formattedWithoutScram, startKafka } from "../src/index.ts";
import { scratchDir } from "../src/scratch-dir.ts";

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("startKafka", () => {
  it("runs a real broker that creates topics, survives a halt and leaves nothing behind", async () => {
    const broker = await startKafka();
    const admin = new Admin({ clientId: "fixture-test", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      expect(broker.bootstrapServers).toMatch(/^127\.0\.0\.1:\d+$/);
      await admin.createTopics({ topics: ["fixture-check"], partitions: 2, replicas: 1 });
      const metadata = await admin.metadata({ topics: ["fixture-check"] });
      expect(metadata.topics.get("fixture-check")?.partitionsCount).toBe(2);

      await broker.halt();
      expect(await portAcceptsConnections(broker.port)).toBe(false);
      await broker.resume();
      const afterRestart = await admin.metadata({ topics: ["fixture-check"], forceUpdate: true });
      expect(afterRestart.topics.get("fixture-check")?.partitionsCount).toBe(2);
    } finally {
      await admin.close();
      await broker.stop();
    }
    expect(await portAcceptsConnections(broker.port)).toBe(false);
    expect(existsSync(broker.dir)).toBe(false);
  });

  it("freezes a broker: a request goes unanswered until it thaws, and a frozen broker still stops", async () => {
    const broker = await startKafka();
    const admin = new Admin({ clientId: "fixture-freeze", bootstrapBrokers: [broker.bootstrapServers] });
    try {
      await admin.createTopics({ topics: ["before-freeze"], partitions: 1, replicas: 1 });
      broker.freeze();
      let answered = false;
      const pending = admin.metadata({ topics: ["before-freeze"], forceUpdate: true }).then((metadata) => {
        answered = true;
        return metadata;
      });
      // Proving silence takes a while by nature: a live broker answers this in a few milliseconds.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(answered).toBe(false);
      broker.thaw();
      expect((await pending).topics.get("before-freeze")?.partitionsCount).toBe(1);
      broker.freeze();
    } finally {
      await admin.close();
      await broker.stop();
    }
    expect(await portAcceptsConnections(broker.port)).toBe(false);
  });

  it("starts two brokers side by side on different ports", async () => {
    const [first, second] = await Promise.all([startKafka(), startKafka()]);
    try {
      expect(first.port).not.toBe(second.port);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });

  it("with scram: serves SASL/SCRAM-SHA-512 only, with its super user allowed and a wrong password refused", async () => {
    const broker = await startKafka({ scram: true });
    const admin = (password: string) =>
      new Admin({
        clientId: "fixture-scram",
        bootstrapBrokers: [broker.bootstrapServers],
        retries: 0,
        sasl: { mechanism: "SCRAM-SHA-512", username: broker.sasl!.username, password },
      });
    const superUser = admin(broker.sasl!.password);
    const impostor = admin(`${broker.sasl!.password}-wrong`);
    try {
      await superUser.createTopics({ topics: ["fixture-scram"], partitions: 1, replicas: 1 });
      expect(await superUser.listTopics()).toContain("fixture-scram");
      await expect(impostor.listTopics()).rejects.toThrow();
    } finally {
      await Promise.all([superUser.close(), impostor.close()]);
      await broker.stop();
    }
  });

  it("with scram: refuses a kept data dir formatted without it, at once rather than at the start timeout", async () => {
    const dataDir = scratchDir("kafka-plaintext-kept");
    mkdirSync(join(dataDir, "data"));
    writeFileSync(join(dataDir, "data", "meta.properties"), "version=1\n");
    expect(formattedWithoutScram(dataDir)).toBe(true);
    await expect(startKafka({ scram: true, dataDir })).rejects.toThrow(/formatted without SCRAM/);
    expect(existsSync(join(dataDir, "super-user.json"))).toBe(false);
  });
});
