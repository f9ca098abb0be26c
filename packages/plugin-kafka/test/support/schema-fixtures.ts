import { ChangeStatus, type PlinthClient } from "@plinth/sdk";
import { expect } from "vitest";

/** An Avro record schema with the given fields, as inline text. */
export const avroRecord = (fields: object[]) =>
  JSON.stringify({ type: "record", name: "Order", namespace: "shop", fields });

export const orderV1 = avroRecord([{ name: "id", type: "string" }]);
/** v1 plus a field with a default: BACKWARD and FORWARD compatible. */
export const orderV2 = avroRecord([
  { name: "id", type: "string" },
  { name: "amount", type: "long", default: 0 },
]);
/** v2 plus a field without a default: a reader on it cannot read v2 records (not BACKWARD compatible). */
export const orderV3Incompatible = avroRecord([
  { name: "id", type: "string" },
  { name: "amount", type: "long", default: 0 },
  { name: "currency", type: "string" },
]);

/** The latest version of a subject, read straight from the registry's REST API (not through the plugin). */
export async function latestVersion(
  registryUrl: string,
  subject: string,
): Promise<{ status: number; body: { version?: number; schema?: string; error_code?: number } }> {
  const response = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}/versions/latest`);
  return { status: response.status, body: (await response.json()) as { version?: number; schema?: string } };
}

export async function compatibilityOf(registryUrl: string, subject: string): Promise<string | undefined> {
  const response = await fetch(`${registryUrl}/config/${encodeURIComponent(subject)}`);
  return ((await response.json()) as { compatibilityLevel?: string }).compatibilityLevel;
}

/** Soft-deletes a subject behind Plinth's back. */
export async function deleteSubjectOutOfBand(registryUrl: string, subject: string): Promise<void> {
  const response = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}`, { method: "DELETE" });
  if (!response.ok) throw new Error(`DELETE subject ${subject}: ${response.status} ${await response.text()}`);
}

/** Applies a topic as `client` and waits for it to be made. */
export async function applyTopic(client: PlinthClient, name: string, team: string): Promise<void> {
  const applied = await client.apply("kafka.topic", name, {
    cluster: "local",
    owner: { team, contact: `#${team}` },
    partitions: 1,
  });
  if (applied.change) expect((await client.waitForChange(applied.change.id)).status).toBe(ChangeStatus.SUCCEEDED);
}

const registryJson = { "content-type": "application/vnd.schemaregistry.v1+json" };

/** Registers a version behind Plinth's back; returns its schema id. */
export async function registerOutOfBand(registryUrl: string, subject: string, schema: string): Promise<number> {
  const response = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: "POST",
    headers: registryJson,
    body: JSON.stringify({ schema }),
  });
  if (!response.ok) throw new Error(`register ${subject}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: number }).id;
}

/** Sets a subject's compatibility level behind Plinth's back. */
export async function setLevelOutOfBand(registryUrl: string, subject: string, level: string): Promise<void> {
  const response = await fetch(`${registryUrl}/config/${encodeURIComponent(subject)}`, {
    method: "PUT",
    headers: registryJson,
    body: JSON.stringify({ compatibility: level }),
  });
  if (!response.ok) throw new Error(`set level of ${subject}: ${response.status} ${await response.text()}`);
}

/** The version numbers a subject has, straight from the registry. */
export async function versionsOf(registryUrl: string, subject: string): Promise<number[]> {
  const response = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}/versions`);
  return response.ok ? ((await response.json()) as number[]) : [];
}
