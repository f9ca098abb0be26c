import { describePluginContract, type KafkaBroker, startKafka } from "@plinth/testing";
import { expect } from "vitest";
import { kafkaUser } from "../src/index.ts";
import { KafkaSettings } from "../src/cluster-settings.ts";
import { describeScramUsers } from "../src/scram-users.ts";
import { settingsInput } from "./support/fixtures.ts";
import { deleteCredentialOutOfBand } from "./support/scram-clients.ts";

const owner = { team: "payments", contact: "#payments" };
const reads = (prefix: string) => ({ topics: { prefix }, operations: "read" as const });

// The broker of the real steps, for the drift, which deletes the credential as its super user.
let broker: KafkaBroker | undefined;
const scramUsers = async (settings: Record<string, unknown>) => [
  ...(await describeScramUsers(KafkaSettings.parse(settings).clusters.local!)).keys(),
];

describePluginContract(kafkaUser, {
  settings: settingsInput,
  valid: [
    { name: "orders-app", spec: { cluster: "main", owner, access: [reads("orders.")] } },
    {
      name: "audit.reader_1",
      spec: { cluster: "small", owner, access: [reads("audit."), reads("orders.")], rotation: 2 },
      description: "two grants and a rotated password",
    },
  ],
  invalid: [
    { name: "orders-app", spec: { cluster: "main", owner, access: [] }, field: "access" },
    { name: "orders-app", spec: { cluster: "nope", owner, access: [reads("orders.")] }, field: "cluster" },
    { name: "orders app", spec: { cluster: "main", owner, access: [reads("orders.")] }, field: "name" },
    {
      name: "orders-app",
      spec: { cluster: "main", owner, access: [reads("orders."), reads("orders.")] },
      field: "access.1.topics",
    },
    {
      name: "orders-app",
      spec: { cluster: "main", owner, access: [reads("orders.")], password: "x" },
      field: "password",
    },
    {
      name: "orders-app",
      spec: { cluster: "main", owner, access: [reads("orders.")], rotation: 0 },
      previous: { cluster: "main", owner, access: [reads("orders.")], rotation: 1 },
      field: "rotation",
      description: "a rotation that goes back",
    },
  ],
  sameIdentity: [
    {
      description: "its access changes",
      name: "orders-app",
      spec: { cluster: "main", owner, access: [reads("orders.")] },
      edited: { cluster: "main", owner, access: [reads("orders."), reads("audit.")], rotation: 1 },
    },
  ],
  real: {
    plugin: { module: new URL("../src/index.ts", import.meta.url).href, export: "kafkaUser" },
    async setup() {
      const started = await startKafka({ scram: true });
      broker = started;
      return {
        // No topic here is managed by Plinth, so no team owns the prefixes the grants name.
        settings: {
          clusters: {
            local: {
              bootstrapServers: [started.bootstrapServers],
              brokers: 1,
              sasl: started.sasl,
              guardrails: { allowUnownedPrefixGrants: true },
            },
          },
        },
        stop: () => started.stop(),
      };
    },
    name: "contract-orders-reader",
    create: { cluster: "local", owner, access: [reads("orders.")] },
    update: { cluster: "local", owner, access: [reads("orders."), reads("audit.")] },
    check: async ({ name, settings }) => {
      expect(await scramUsers(settings)).toContain(name);
    },
    checkGone: async ({ name, settings }) => {
      expect(await scramUsers(settings)).not.toContain(name);
    },
    // Its credential deleted by hand: the user can no longer log in.
    drift: async ({ name }) => {
      await deleteCredentialOutOfBand(broker!.bootstrapServers, broker!.sasl!, name);
    },
    // The repair makes a new password for the deleted credential (docs/kafka.md): Pulumi's refresh dropped the
    // old one from state. Setting back the password Plinth holds instead is issue 30's non-destructive repair.
    rotatedByDrift: ["password"],
  },
});
