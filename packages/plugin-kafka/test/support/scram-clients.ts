import { Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";

export interface ScramLogin {
  username: string;
  password: string;
}

const sasl = (login: ScramLogin) => ({ mechanism: "SCRAM-SHA-512" as const, ...login });

/** Produces one message as `login`; rejects with the broker's error (e.g. TOPIC_AUTHORIZATION_FAILED). */
export async function produceAs(bootstrapServers: string, login: ScramLogin, topic: string, value: string) {
  const producer = new Producer({
    clientId: `test-producer-${login.username}`,
    bootstrapBrokers: [bootstrapServers],
    serializers: stringSerializers,
    sasl: sasl(login),
    retries: 0,
  });
  try {
    await producer.send({ messages: [{ topic, key: "k", value }] });
  } finally {
    await producer.close();
  }
}

/**
 * Consumes from the start of `topic` in group `groupId` as `login` until a
 * message with `value` arrives; fails after `timeoutMs`. Retries what a
 * fresh broker answers before its offsets topic exists (no coordinator yet).
 */
export async function consumeAs(
  bootstrapServers: string,
  login: ScramLogin,
  topic: string,
  groupId: string,
  value: string,
  timeoutMs = 60_000,
  /** 0 to see a refusal at once: the client otherwise retries authorization errors too. */
  retries = 20,
): Promise<string> {
  const consumer = new Consumer({
    clientId: `test-consumer-${login.username}`,
    groupId,
    bootstrapBrokers: [bootstrapServers],
    deserializers: stringDeserializers,
    sasl: sasl(login),
    retries,
    retryDelay: 250,
  });
  const deadline = setTimeout(() => void consumer.close(true), timeoutMs);
  try {
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: true });
    for await (const message of stream) {
      if (message.value === value) {
        await stream.close();
        return message.value;
      }
    }
    throw new Error(`no "${value}" on ${topic} within ${timeoutMs} ms`);
  } finally {
    clearTimeout(deadline);
    await consumer.close(true);
  }
}

/** Every error code and message in an error and its nested errors and causes, for assertions. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (!value || typeof value !== "object" || depth > 6) return;
    const record = value as { code?: unknown; apiId?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
    for (const field of [record.code, record.apiId, record.message]) if (typeof field === "string") parts.push(field);
    if (Array.isArray(record.errors)) for (const nested of record.errors) visit(nested, depth + 1);
    visit(record.cause, depth + 1);
  };
  visit(error, 0);
  return parts.join(" | ");
}

/** Resolves with the error text of a call that must fail. */
export async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return errorText(error);
  }
  throw new Error("expected the broker to refuse, but the call succeeded");
}

/** Deletes a user's SCRAM-SHA-512 credential behind Plinth's back, as `admin` (a super user). */
export async function deleteCredentialOutOfBand(bootstrapServers: string, admin: ScramLogin, username: string) {
  const { Connection, alterUserScramCredentialsV0 } = await import("@platformatic/kafka");
  const connection = new Connection("test-out-of-band", { sasl: sasl(admin) });
  const [host, port] = bootstrapServers.split(":");
  try {
    await connection.connect(host!, Number(port));
    await alterUserScramCredentialsV0.api.async(connection, [{ name: username, mechanism: 2 }], []);
  } finally {
    await connection.close();
  }
}

/** Makes a SCRAM-SHA-512 credential for `username` behind Plinth's back, as `admin`, the way Kafka's tools do. */
export async function createCredentialOutOfBand(
  bootstrapServers: string,
  admin: ScramLogin,
  login: ScramLogin,
): Promise<void> {
  const { Connection, alterUserScramCredentialsV0 } = await import("@platformatic/kafka");
  const { pbkdf2Sync, randomBytes } = await import("node:crypto");
  const connection = new Connection("test-out-of-band", { sasl: sasl(admin) });
  const [host, port] = bootstrapServers.split(":");
  const iterations = 4096;
  const salt = randomBytes(32);
  const saltedPassword = pbkdf2Sync(login.password, salt, iterations, 64, "sha512");
  try {
    await connection.connect(host!, Number(port));
    await alterUserScramCredentialsV0.api.async(
      connection,
      [],
      [{ name: login.username, mechanism: 2, iterations, salt, saltedPassword }],
    );
  } finally {
    await connection.close();
  }
}
