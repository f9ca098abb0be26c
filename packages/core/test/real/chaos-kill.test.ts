import { ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { type KafkaBroker, startKafka, waitFor } from "@plinth/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { watchToEnd } from "../support/connect-helpers.ts";
import { realDataDir, topicPartitions } from "../support/real-service.ts";
import {
  type ServerProcess,
  alive,
  descendants,
  killServer,
  killServerProcesses,
  startRealServerProcess,
} from "../support/real-server-process.ts";
import { type Clients, clientsFor, principals } from "../support/test-service.ts";

afterEach(killServerProcesses);

/** mulberry32: a small seeded generator, so a failing run can be replayed with PLINTH_CHAOS_SEED. */
function random(seed: number): (low: number, high: number) => number {
  let state = seed >>> 0;
  return (low, high) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return low + Math.floor(unit * (high - low + 1));
  };
}

const count = 20;
const names = Array.from({ length: count }, (_, i) => `chaos.topic-${i}`);
const spec = { cluster: "local", partitions: 2, owner: { team: "payments", contact: "#payments" } };

describe("chaos: the server killed three times while 20 topic creations are in flight", { timeout: 900_000 }, () => {
  let broker: KafkaBroker;
  beforeAll(async () => {
    broker = await startKafka();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it("loses no acknowledged change, duplicates none, and every topic is made once", async () => {
    const seed = Number(process.env.PLINTH_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const pick = random(seed);
    const context = `PLINTH_CHAOS_SEED=${seed}`;
    const dataDir = realDataDir();
    // Once by process group (a crash of the whole service), once by pid alone (the OOM killer), once either way.
    const kinds: ("group" | "pid")[] = pick(0, 1) === 0 ? ["group", "pid"] : ["pid", "group"];
    kinds.splice(pick(0, 2), 0, pick(0, 1) === 0 ? "group" : "pid");
    // The moments: after some of the 20 submissions are acknowledged, then after some changes have succeeded.
    const firstSucceeded = pick(2, 7);
    const moments: ({ acknowledged: number } | { succeeded: number })[] = [
      { acknowledged: pick(1, count - 1) },
      { succeeded: firstSucceeded },
      { succeeded: pick(firstSucceeded + 3, firstSucceeded + 9) },
    ];

    /** The change id of each name's first acknowledgement; a replay must answer the same one. */
    const acknowledged = new Map<string, string>();
    /** Replays answered with another change (a duplicate) or none (the acknowledged one forgotten). */
    const mismatches: string[] = [];
    const submit = async (clients: Clients, name: string): Promise<void> => {
      const { change } = await clients.resources.applyResource({ type: "kafka.topic", name, spec, requestId: name });
      const id = change?.id ?? "no change";
      const first = acknowledged.get(name);
      if (first === undefined) acknowledged.set(name, id);
      else if (first !== id) mismatches.push(`${name}: ${first}, then ${id}`);
    };
    const succeeded = async (clients: Clients): Promise<number> => {
      let done = 0;
      for (const id of acknowledged.values()) {
        const { change } = await clients.changes.getChange({ id });
        if (change?.status === ChangeStatus.SUCCEEDED) done++;
      }
      return done;
    };

    let server: ServerProcess = await startRealServerProcess([dataDir, broker.bootstrapServers]);
    let clients = clientsFor(server.url, principals.requester.token);
    // Submissions in flight when the first kill lands may never be answered: the replays cover them.
    const inFlight = names.map((name) => submit(clients, name).catch(() => undefined));
    const orphans: number[] = [];
    for (const [index, moment] of moments.entries()) {
      const current = clients;
      await waitFor(
        async () => {
          const reached =
            "acknowledged" in moment
              ? acknowledged.size >= moment.acknowledged
              : (await succeeded(current)) >= moment.succeeded;
          if (!reached) throw new Error(`not yet at ${JSON.stringify(moment)}`);
        },
        { what: `kill ${index + 1} at ${JSON.stringify(moment)} (${context})`, timeoutMs: 300_000 },
      );
      const how = kinds[index]!;
      // What a pid-only kill leaves behind must end by itself (engine-child.ts): checked at the end.
      if (how === "pid") orphans.push(...descendants(server.child.pid!));
      await killServer(server, how);
      server = await startRealServerProcess([dataDir, broker.bootstrapServers]);
      clients = clientsFor(server.url, principals.requester.token);
      // Every request again, with its request id: the server answers each with the change it already has.
      await Promise.all(names.map((name) => submit(clients, name)));
      expect(mismatches, context).toEqual([]);
    }
    await Promise.all(inFlight);

    expect(mismatches, context).toEqual([]);
    expect([...acknowledged.keys()].sort(), context).toEqual([...names].sort());
    for (const [name, id] of acknowledged) {
      const { change } = await watchToEnd(clients, id);
      expect({ name, status: ChangeStatus[change.status], revision: change.resultRevision }, context).toEqual({
        name,
        status: "SUCCEEDED",
        revision: 1n,
      });
    }
    const { changes } = await clients.changes.listChanges({ type: "kafka.topic", pageSize: 100 });
    expect(changes.map((change) => change.name).sort(), context).toEqual([...names].sort());
    for (const name of names) {
      const { revisions } = await clients.resources.listRevisions({ type: "kafka.topic", name });
      expect({ name, revisions: revisions.length }, context).toEqual({ name, revisions: 1 });
      expect({ name, partitions: await topicPartitions(broker.bootstrapServers, name) }, context).toEqual({
        name,
        partitions: 2,
      });
    }
    expect(alive(orphans), context).toEqual([]);
    await killServer(server, "group");
  });
});
