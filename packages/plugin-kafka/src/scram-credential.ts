import type * as crypto from "node:crypto";
import type * as platformatic from "@platformatic/kafka";
import type * as ProviderHelpers from "@plinth/core/provider-helpers";
import * as pulumi from "@pulumi/pulumi";

/** How the provider host reaches the cluster: the admin client options of `adminOptions`, as plain data. */
export interface CredentialConnection {
  bootstrapServers: string[];
  sasl?: { mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"; username: string; password: string };
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
}

interface CredentialInputs {
  username: string;
  iterations: number;
  /** Password generation: a different value makes a new password. */
  generation: number;
  connection: CredentialConnection;
  /**
   * The password Plinth's store holds, when it holds one. It differs from
   * the state's after `plinth-server adopt-secrets` took the cluster's live
   * password from the database a restore replaced: see `update`.
   */
  held?: string;
}

interface CredentialOutputs extends Omit<CredentialInputs, "held"> {
  password: string;
  /**
   * Set by a refresh that found the cluster refusing `password` for a
   * credential it holds (a backup restored from before a rotation, a change
   * by hand): a difference the next update repairs by setting the credential
   * back to `password`, the one Plinth holds and its clients were given.
   */
  passwordRefused?: true;
}

/**
 * Runs `use` with a connection to the first bootstrap server that answers,
 * in Pulumi's provider host (these functions are serialized into the state,
 * so they require() their modules at call time).
 */
async function withConnection<T>(
  settings: CredentialConnection,
  use: (connection: platformatic.Connection, kafka: typeof platformatic) => Promise<T>,
): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved through the engine's NODE_PATH
  const kafka = require("@platformatic/kafka") as typeof platformatic;
  let lastError: unknown;
  for (const server of settings.bootstrapServers) {
    const colon = server.lastIndexOf(":");
    const connection = new kafka.Connection("plinth-plugin-kafka", {
      connectTimeout: 10_000,
      requestTimeout: 10_000,
      ...(settings.tls && { tls: settings.tls }),
      ...(settings.sasl && { sasl: settings.sasl }),
    });
    // A late SASL handshake failure is emitted after connect() stopped listening; unheard, it would
    // crash the provider host (see describeScramUsers).
    connection.on("error", () => {});
    try {
      await connection.connect(server.slice(0, colon).replace(/^\[|\]$/g, ""), Number(server.slice(colon + 1)));
      return await use(connection, kafka);
    } catch (error) {
      lastError = error;
    } finally {
      await connection.close();
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/**
 * Upserts the user's SCRAM-SHA-512 credential with Kafka's
 * AlterUserScramCredentials (salt and salted password per RFC 5802, as
 * Kafka's own tools compute them), or deletes it (already gone is fine).
 */
async function alterCredential(inputs: CredentialInputs, change: { upsert: string } | { delete: true }): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs in Pulumi's CommonJS provider host
  const { pbkdf2Sync, randomBytes } = require("node:crypto") as typeof crypto;
  const sha512 = 2;
  await withConnection(inputs.connection, async (connection, kafka) => {
    if ("upsert" in change) {
      const salt = randomBytes(32);
      const saltedPassword = pbkdf2Sync(change.upsert, salt, inputs.iterations, 64, "sha512");
      await kafka.alterUserScramCredentialsV0.api.async(
        connection,
        [],
        [{ name: inputs.username, mechanism: sha512, iterations: inputs.iterations, salt, saltedPassword }],
      );
      return;
    }
    try {
      await kafka.alterUserScramCredentialsV0.api.async(connection, [{ name: inputs.username, mechanism: sha512 }], []);
    } catch (error) {
      // RESOURCE_NOT_FOUND (91): already gone, which is what a delete wants.
      if (!JSON.stringify((error as { response?: unknown }).response ?? {}).includes('"errorCode":91')) throw error;
    }
  });
}

/** The SCRAM mechanisms (1 = SHA-256, 2 = SHA-512) the cluster holds a credential of for the user. Read-only. */
async function storedMechanisms(inputs: CredentialInputs): Promise<number[]> {
  return await withConnection(inputs.connection, async (connection, kafka) => {
    const response = await kafka.describeUserScramCredentialsV0.api.async(connection, null);
    return response.results
      .filter((result) => result.user === inputs.username)
      .flatMap((result) => result.credentialInfos.map((info) => info.mechanism));
  });
}

/** Whether the cluster still holds the user's SCRAM-SHA-512 credential. Read-only. */
async function credentialExists(inputs: CredentialInputs): Promise<boolean> {
  return await withConnection(inputs.connection, async (connection, kafka) => {
    const response = await kafka.describeUserScramCredentialsV0.api.async(connection, null);
    return response.results.some(
      (result) => result.user === inputs.username && result.credentialInfos.some((info) => info.mechanism === 2),
    );
  });
}

/**
 * Whether the cluster refuses a SCRAM-SHA-512 login with the password of
 * `outputs` (only a cluster that authenticates with SASL can tell; without
 * it, false). Read-only. Throws when the cluster cannot be reached: not
 * knowing is not a refusal.
 */
async function passwordRefused(outputs: CredentialOutputs): Promise<boolean> {
  if (!outputs.connection.sasl) return false;
  const login = {
    ...outputs.connection,
    sasl: { mechanism: "SCRAM-SHA-512" as const, username: outputs.username, password: outputs.password },
  };
  try {
    await withConnection(login, async () => {});
    return false;
  } catch (error) {
    if (isAuthenticationError(error)) return true;
    throw error;
  }
}

/** A refused SASL login, however the client wraps it (a connection error whose cause it is). */
function isAuthenticationError(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if ((cause as { code?: unknown }).code === "PLT_KFK_AUTHENTICATION") return true;
    const inner = (cause as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner.some(isAuthenticationError)) return true;
  }
  return false;
}

function newPassword(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs in Pulumi's CommonJS provider host
  const { generatePassword } = require("@plinth/core/provider-helpers") as typeof ProviderHelpers;
  // 256 random bits, base64url: 43 characters every SCRAM client takes as they are. Known to the engine
  // before it is used, so an error of this operation that echoes it is scrubbed.
  return generatePassword(32);
}

const credentialProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: CredentialInputs) {
    // The submit-time takeover check ran before review; a credential made since (by hand, by another tool)
    // must not be overwritten under the clients using it. Checked here, right before the write.
    const existing = await storedMechanisms(inputs);
    if (existing.length > 0) {
      // Worded "already exists" so that the engine classes it ALREADY_EXISTS, not retryable: no retry can fix it.
      throw new Error(
        `user "${inputs.username}" already exists on the cluster: it got a SCRAM credential after this change ` +
          `was submitted, outside Plinth, and Plinth is refusing to overwrite it (its clients would lose their ` +
          `password). Remove it from the cluster, then reconcile, or pick another name`,
      );
    }
    const password = newPassword();
    await alterCredential(inputs, { upsert: password });
    const { held: _, ...kept } = inputs;
    return { id: inputs.username, outs: { ...kept, password } satisfies CredentialOutputs };
  },
  async diff(_id: string, olds: CredentialOutputs, news: CredentialInputs) {
    const replaces = olds.username === news.username ? [] : ["username"];
    const changes =
      replaces.length > 0 ||
      olds.generation !== news.generation ||
      olds.passwordRefused === true ||
      olds.iterations !== news.iterations ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection);
    return { changes, replaces, deleteBeforeReplace: true };
  },
  async update(_id: string, olds: CredentialOutputs, news: CredentialInputs) {
    // New connection settings alone (e.g. Plinth's own password rotated) keep the user's password.
    const rotate = olds.generation !== news.generation || olds.iterations !== news.iterations;
    const { held, ...kept } = news;
    // Adopted: the store holds the password the cluster accepts (taken from the database a restore
    // replaced) while the state holds the refused one. It becomes the state's too; the cluster is not touched.
    const adopt =
      !rotate &&
      olds.passwordRefused === true &&
      typeof held === "string" &&
      held !== olds.password &&
      !(await passwordRefused({ ...kept, password: held }));
    const password = rotate ? newPassword() : adopt ? held : olds.password;
    // Otherwise a refused password is set back in place (an upsert: the user and its ACLs stay, and clients
    // holding the password Plinth reveals log in again; those using the other are cut off, hence the review
    // core forces on a change over a secret mismatch).
    if (rotate || (olds.passwordRefused && !adopt)) await alterCredential(news, { upsert: password });
    return { outs: { ...kept, password } satisfies CredentialOutputs };
  },
  // Refresh: a credential removed behind Plinth's back is gone from the state too, so the next apply
  // (a reconcile) creates it again, with a new password: Kafka cannot give the old one back. One the
  // cluster holds under another password is marked, for the next apply to set the password back.
  async read(id: string, props: CredentialOutputs) {
    if (!(await credentialExists(props))) return { id: "", props: {} };
    const { passwordRefused: _, ...held } = props;
    return { id, props: (await passwordRefused(held)) ? { ...held, passwordRefused: true } : held };
  },
  async delete(_id: string, olds: CredentialOutputs) {
    await alterCredential(olds, { delete: true });
  },
};

/**
 * A user's SCRAM-SHA-512 credential with a password made here, once per
 * `generation`: Pulumi runs the program on every apply and refresh, so a
 * password made by the program would change every time; this one lives in
 * the stack's state (encrypted: `password` and `connection` are secret) and
 * changes only when `generation` does. The Kafka provider's own
 * UserScramCredential is not used: it panics on a password that is not known
 * yet, which is every preview of a create or a rotation.
 */
export class ScramCredential extends pulumi.dynamic.Resource {
  declare readonly username: pulumi.Output<string>;
  declare readonly password: pulumi.Output<string>;
  constructor(
    name: string,
    args: {
      username: string;
      iterations: number;
      generation: number;
      connection: CredentialConnection;
      held?: string;
    },
    options: pulumi.CustomResourceOptions = {},
  ) {
    const { held, ...open } = args;
    super(
      credentialProvider,
      name,
      {
        ...open,
        connection: pulumi.secret(args.connection),
        ...(held !== undefined && { held: pulumi.secret(held) }),
        password: undefined,
      },
      { ...options, additionalSecretOutputs: ["password", "connection"] },
      "plinth",
      "ScramCredential",
    );
  }
}
