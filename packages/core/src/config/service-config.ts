import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { defaultEngineConcurrency, maxEngineConcurrency } from "../engine/pulumi/default-engine-concurrency.ts";
import { SharedSettingsError, resolveSharedSettings } from "./resolve-shared-settings.ts";

const role = z.enum(["requester", "reviewer", "admin"]);
/** Connections one replica keeps to PostgreSQL; each running transaction holds one. */
const poolSize = z.number().int().min(1).max(1000).default(10);
/**
 * Bounds on waiting for PostgreSQL: past them a request answers UNAVAILABLE
 * (the client retries) instead of waiting without limit behind a session that
 * stopped while holding a lock (a paused replica).
 */
const postgresTimeouts = z
  .object({
    /** Waiting for a lock (a resource's, a row's): lock_timeout. */
    lockMs: z.number().int().min(1).max(600_000).default(5_000),
    /** One statement: statement_timeout. */
    statementMs: z.number().int().min(1).max(3_600_000).default(30_000),
    /** A transaction left open without a statement (its session paused): the server ends the session and its locks. */
    idleInTransactionMs: z.number().int().min(1).max(3_600_000).default(15_000),
    /** Opening a connection, or waiting for a free one in the pool. */
    connectMs: z.number().int().min(1).max(600_000).default(15_000),
  })
  .strict()
  .prefault({});

/** Event kinds as written in the config and shown in the API (lower case there, upper case in the store). */
export const notificationKindNames = [
  "submitted",
  "pending_review",
  "approved",
  "rejected",
  "succeeded",
  "failed",
  "drift_detected",
  "secret_revealed",
  "review_escalated",
  "cancelled",
] as const;

const webhookUrl = z
  .string()
  .refine((value) => URL.canParse(value) && ["http:", "https:"].includes(new URL(value).protocol), {
    message: "must be an http or https URL",
  });

/** A host name, an address, or a CIDR range (10.1.2.0/24, fd00::/8). */
const allowedTarget = z
  .string()
  .min(1)
  .refine(
    (value) => {
      const [network = "", prefix, extra] = value.split("/");
      const family = isIP(network);
      if (extra !== undefined) return false;
      if (prefix === undefined) return family !== 0 || /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(network);
      const bits = Number(prefix);
      return family !== 0 && /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
    },
    { message: "must be a host name, an IP address or a CIDR range such as 10.1.2.0/24" },
  );
/** Signature algorithms a token may use: asymmetric only, never `none` or an HMAC keyed with a public key. */
export const tokenAlgorithms = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

/** A group (or other claim) pattern: `{team}` captures the team name. */
const claimPattern = z
  .string()
  .min(1)
  .refine((value) => (value.match(/\{team\}/g) ?? []).length <= 1, { message: "may hold {team} at most once" });

const oidcRule = z
  .object({
    /** The value to match in `claim`; `{team}` in it captures the team, e.g. "kafka-{team}-reviewers". */
    group: claimPattern,
    /** The claim holding the values; default the issuer's `groupsClaim`. `client_id` suits services. */
    claim: z.string().min(1).optional(),
    /** The team a match gives, when `group` has no `{team}`; neither: the roles apply in every team the token gives. */
    team: z.string().min(1).optional(),
    roles: z.array(role).min(1),
  })
  .strict()
  .refine((rule) => !(rule.team !== undefined && rule.group.includes("{team}")), {
    message: "a rule names its team either in `group` ({team}) or in `team`, not both",
  });

const oidcIssuer = z
  .object({
    /** Exactly the `iss` its tokens carry. */
    issuer: z.string().refine((value) => URL.canParse(value), { message: "must be a URL" }),
    /** The `aud` Plinth's tokens must carry (one of these). */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Where its discovery document is; default `<issuer>/.well-known/openid-configuration`. */
    discoveryUrl: z
      .string()
      .refine((value) => URL.canParse(value), { message: "must be a URL" })
      .optional(),
    /** The claim that names the principal: "sub" (default), "email", "preferred_username"... */
    principalClaim: z.string().min(1).default("sub"),
    /** The claim listing the caller's groups. */
    groupsClaim: z.string().min(1).default("groups"),
    algorithms: z.array(z.enum(tokenAlgorithms)).min(1).default(["RS256", "PS256", "ES256", "EdDSA"]),
    /** How far `exp`, `nbf` and `iat` may be off the server's clock. */
    clockSkewSeconds: z.number().int().min(0).max(300).default(30),
    /** A token signed with a key not in the cached set refetches the set, at most once per this. */
    jwksCooldownSeconds: z.number().min(0).max(3600).default(30),
    /** The key set is fetched again after this long even when every `kid` is known. */
    jwksMaxAgeSeconds: z.number().int().min(1).default(600),
    rules: z.array(oidcRule).min(1),
  })
  .strict();

export type OidcIssuerConfig = z.output<typeof oidcIssuer>;

/** The service config file (YAML). Every field is checked at start; a bad file stops the server with one message. */
export const ServiceConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Serve HTTPS (h2 and http/1.1 by ALPN) from these PEM files, for deployments without a TLS proxy. */
        tls: z
          .object({
            /** Certificate chain, PEM; relative to the config file. Read at start. */
            certFile: z.string().min(1),
            /** Private key, PEM; relative to the config file. Keep it 0600. */
            keyFile: z.string().min(1),
          })
          .strict()
          .optional(),
        /**
         * Host header values (host names, no port) the console and API answer to. On a
         * loopback address the default is the loopback names only, so a page that
         * rebinds its own DNS name to 127.0.0.1 cannot drive the API; elsewhere, any.
         */
        allowedHosts: z.array(z.string().min(1)).optional(),
        /** Every connection is bounded in time and number: idle or slow clients cannot pin the server. */
        limits: z
          .object({
            /** Accept to first request byte, TLS handshake included. */
            firstByteTimeoutMs: z.number().int().min(1).default(10_000),
            /** HTTP/1.1: first byte of a request to the end of its headers (at most Node's 300 s request timeout). */
            headersTimeoutMs: z.number().int().min(1).max(300_000).default(20_000),
            /**
             * First byte of a request (HTTP/1.1) or opening of a stream (HTTP/2) to the end of its body;
             * at least headersTimeoutMs. A response may stream for longer.
             */
            requestTimeoutMs: z.number().int().min(1).max(3_600_000).default(60_000),
            /** HTTP/1.1 keep-alive between requests; HTTP/2 session without an open stream. */
            idleTimeoutMs: z.number().int().min(1).default(120_000),
            /** Connections at once; at the cap the oldest connection that has not sent a byte is closed. */
            maxConnections: z.number().int().min(1).default(1_000),
            /** HTTP/2 streams at once per connection. */
            maxStreamsPerConnection: z.number().int().min(1).default(100),
            /** HTTP/2 streams at once on a connection that has not authenticated yet (the console's assets, health checks). */
            maxUnauthenticatedStreams: z.number().int().min(1).default(4),
          })
          .strict()
          .refine((limits) => limits.headersTimeoutMs <= limits.requestTimeoutMs, {
            message: "headersTimeoutMs must not be longer than requestTimeoutMs",
            path: ["headersTimeoutMs"],
          })
          .prefault({}),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        /**
         * Hex SHA-256 of a bearer token that /metrics then requires (Prometheus'
         * `authorization` credentials). Unset: /metrics is open, which suits loopback.
         */
        tokenSha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, "must be the hex SHA-256 of the token")
          .optional(),
      })
      .strict()
      .prefault({}),
    /** Relative paths are relative to the config file. */
    dataDir: z.string().default("./.plinth"),
    store: z
      .object({
        sqlite: z.object({ synchronous: z.enum(["FULL", "NORMAL"]).default("FULL") }).prefault({}),
        /** Set: the shared PostgreSQL store, for several replicas, instead of the embedded SQLite file. */
        postgres: z
          .union([
            z
              .object({
                url: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
                poolSize,
                timeouts: postgresTimeouts,
              })
              .strict(),
            z
              .object({
                host: z.string().min(1),
                port: z.number().int().min(1).max(65535).default(5432),
                database: z.string().min(1),
                user: z.string().min(1),
                /** The environment variable holding the password, so that it stays out of the file. */
                passwordEnv: z
                  .string()
                  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
                  .optional(),
                poolSize,
                timeouts: postgresTimeouts,
              })
              .strict(),
          ])
          .optional(),
      })
      .prefault({}),
    engine: z
      .object({
        /** Any Pulumi backend URL; default file://<dataDir>/pulumi. */
        backendUrl: z.string().optional(),
        /** Passphrase of Pulumi's secrets provider. */
        passphrase: z.string().min(1),
        /** Pulumi operations at once; default from the machine's cores and memory (defaultEngineConcurrency). */
        concurrency: z.number().int().min(1).max(maxEngineConcurrency).optional(),
        /** Operations one warm engine child runs before a fresh one replaces it. */
        operationsPerChild: z.number().int().min(1).max(10_000).default(25),
      })
      .strict(),
    secrets: z
      .object({
        key: z.string().min(16, "use at least 16 characters"),
        /**
         * Keys that sealed secrets before `key` replaced them: still accepted for reading until
         * `plinth rekey` has sealed everything again with `key` (docs/security.md, key rotation).
         */
        previousKeys: z.array(z.string().min(16, "use at least 16 characters")).default([]),
      })
      .strict(),
    /** Tokens from the organisation's identity provider(s); see docs/security.md. */
    oidc: z
      .object({
        issuers: z.array(oidcIssuer).min(1),
      })
      .strict()
      .optional(),
    /** Static tokens: for development and deployments without an identity provider. */
    principals: z
      .array(
        z
          .object({
            id: z.string().min(1),
            team: z.string().min(1),
            roles: z.array(role).min(1),
            tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, "must be the hex SHA-256 of the token"),
          })
          .strict(),
      )
      .default([])
      .superRefine((principals, ctx) => {
        // Two entries for one id or one token would make who-did-what ambiguous in reviews and the audit log.
        const seen = { id: new Map<string, number>(), tokenSha256: new Map<string, number>() };
        principals.forEach((principal, index) => {
          for (const key of ["id", "tokenSha256"] as const) {
            const first = seen[key].get(principal[key]);
            if (first === undefined) seen[key].set(principal[key], index);
            else
              ctx.addIssue({
                code: "custom",
                path: [index, key],
                message: `duplicate of principals[${first}].${key}: each principal needs its own ${key === "id" ? "id" : "token"}`,
              });
          }
        });
      }),
    review: z
      .object({
        approvals: z
          .object({
            CREATE: z.number().int().min(0).default(0),
            UPDATE: z.number().int().min(0).default(0),
            DELETE: z.number().int().min(0).default(1),
          })
          .prefault({}),
        /**
         * Teams whose reviewers may approve or reject any team's change (a platform team). Other
         * reviewers review their own team's changes and those asking their team for access.
         * Nobody's approval stands in for an owning team's consent to an access request.
         */
        platformTeams: z.array(z.string().min(1)).default([]),
      })
      .prefault({}),
    worker: z
      .object({
        /** Changes in hand at once; default the engine's concurrency, so every slot can serve a change. */
        concurrency: z.number().int().min(1).optional(),
        leaseMs: z.number().int().min(100).default(30_000),
        pollMs: z.number().int().min(10).default(1_000),
        maxAttempts: z.number().int().min(1).default(5),
        retryBaseMs: z.number().int().min(0).default(2_000),
        retryMaxMs: z.number().int().min(0).default(60_000),
        verifyTimeoutMs: z.number().int().min(0).default(60_000),
        /**
         * On SIGTERM, how long changes being applied may run on; then they are stopped and handed over.
         * 20 s leaves a 30 s termination grace (Kubernetes' default) time to hand over and close.
         */
        drainMs: z.number().int().min(0).default(20_000),
      })
      .prefault({}),
    reconcile: z
      .object({
        /** Time between drift checks of every settled resource; 0 turns them off. */
        intervalMs: z.number().int().min(0).default(60_000),
        /**
         * The largest share of the engine's slots a round's refreshing previews
         * may hold at once: floor(engine.concurrency x share), at least 1.
         */
        engineShare: z.number().gt(0).max(1).default(0.5),
      })
      .prefault({}),
    /** What one caller may ask at once: each refusal names its limit (docs/operating.md#limits). */
    limits: z
      .object({
        /** Resources and changes one PreviewResource or ListAccessGrants call may read before it is refused. */
        maxReadsPerCall: z.number().int().min(1).default(20_000),
        /** WatchChange streams one principal may hold open at once. */
        maxWatchesPerPrincipal: z.number().int().min(1).default(32),
        /**
         * Resources an approved import records per transaction: each batch holds the store's writers up
         * (all of them on SQLite) only for its own rows (BENCHMARKS.md, `plinth import`).
         */
        importBatchSize: z.number().int().min(1).max(10_000).default(500),
      })
      .strict()
      .prefault({}),
    console: z
      .object({
        /** The built console (index.html and assets/); default: the dist of the installed @plinth/console. */
        dir: z.string().optional(),
        /**
         * Sign in to the console through this identity provider (authorization code flow with PKCE, a public
         * client redirecting to the console's address); it must also be one of `oidc.issuers`.
         */
        signIn: z
          .object({
            issuer: z.string().refine((value) => URL.canParse(value), { message: "must be a URL" }),
            clientId: z.string().min(1).default("plinth-console"),
            scope: z.string().min(1).default("openid profile email"),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    notifications: z
      .object({
        /** The console's address as people reach it: messages link to a change there. */
        consoleUrl: z.string().optional(),
        /**
         * Webhook targets allowed although they are loopback, link-local, private or the server's own:
         * exact host names, addresses, or CIDR ranges (docs/notifications.md#where-webhooks-may-go).
         */
        allowedTargets: z.array(allowedTarget).default([]),
        /** Standing subscriptions one team may hold (per-change callbacks do not count). */
        maxSubscriptionsPerTeam: z.number().int().min(0).default(50),
        subscriptions: z
          .array(
            z
              .object({
                /** Names the subscription in the API and in deliveries (as "config:<id>"). */
                id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "use lower-case letters, digits and dashes"),
                url: webhookUrl,
                format: z.enum(["cloudevents", "slack"]).default("cloudevents"),
                /** HMAC-SHA256 key for the signature header; use ${ENV} to keep it out of the file. */
                secret: z.string().min(16, "use at least 16 characters").optional(),
                /** The team that may see its deliveries (admins always may). */
                ownerTeam: z.string().min(1).optional(),
                teams: z.array(z.string().min(1)).default([]),
                types: z.array(z.string().min(1)).default([]),
                kinds: z.array(z.enum(notificationKindNames)).default([]),
              })
              .strict(),
          )
          .default([])
          .refine((list) => new Set(list.map((s) => s.id)).size === list.length, {
            message: "subscription ids must be unique",
          }),
        review: z
          .object({
            /** A change still pending review this long after it started waiting is announced again; 0: never. */
            remindAfterMs: z.number().int().min(0).default(3_600_000),
            /** ...and this long after, escalated (kind review_escalated, e.g. to the on-call channel); 0: never. */
            escalateAfterMs: z
              .number()
              .int()
              .min(0)
              .default(4 * 3_600_000),
          })
          .strict()
          .prefault({}),
        delivery: z
          .object({
            pollMs: z.number().int().min(10).default(1_000),
            /** One attempt's limit; a receiver slower than this counts as down. */
            timeoutMs: z.number().int().min(100).default(10_000),
            retryBaseMs: z.number().int().min(1).default(1_000),
            retryMaxMs: z.number().int().min(1).default(300_000),
            /** A delivery not acknowledged this long after its event is given up (EXPIRED). */
            expireAfterMs: z
              .number()
              .int()
              .min(1)
              .default(24 * 3_600_000),
            /**
             * The same bound for a per-change callback (ApplyResource's `callback`): a caller waiting
             * on one change learns sooner, from ListDeliveries, that its receiver is gone.
             */
            callbackExpireAfterMs: z.number().int().min(1).default(3_600_000),
            /** Delivered and expired deliveries (and their attempts) are kept this long, then pruned. */
            keepMs: z
              .number()
              .int()
              .min(0)
              .default(7 * 24 * 3_600_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * Settings sections several plugins read: a plugin's settings say `{ $shared: <name> }` where the
     * section goes (docs/operating.md#shared-plugin-settings).
     */
    sharedSettings: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.unknown()).default({}),
    plugins: z
      .array(
        z
          .object({
            /** A package name or a path to a TypeScript module. */
            module: z.string().min(1),
            /** The named export holding the plugin. */
            export: z.string().min(1),
            settings: z.record(z.string(), z.unknown()).default({}),
            /**
             * What the reconciler does when a resource of this type drifted:
             * report (mark it DRIFTED), review (also submit a repair that waits
             * for a reviewer) or auto (a repair that applies by itself). A
             * resource's label `plinth/repair` overrides it.
             */
            repair: z.enum(["auto", "review", "report"]).default("report"),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .refine((config) => config.principals.length > 0 || config.oidc !== undefined, {
    path: ["principals"],
    message: "nobody could sign in: list at least one static principal, or an identity provider under oidc.issuers",
  })
  .transform((config) => {
    const engineConcurrency = config.engine.concurrency ?? defaultEngineConcurrency();
    return {
      ...config,
      engine: { ...config.engine, concurrency: engineConcurrency },
      worker: { ...config.worker, concurrency: config.worker.concurrency ?? engineConcurrency },
    };
  });

export type ServiceConfig = z.infer<typeof ServiceConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Replaces ${NAME} in strings with environment variables, so secrets can stay out of the file. */
function interpolate(value: unknown, path: string): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_match, name: string) => {
      const found = process.env[name];
      if (found === undefined) throw new ConfigError(`${path}: environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, `${path}[${index}]`));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, path ? `${path}.${key}` : key)]),
    );
  }
  return value;
}

export interface LoadedConfig {
  config: ServiceConfig;
  /** Directory of the config file: relative paths start here. */
  baseDir: string;
  dataDir: string;
}

export function parseServiceConfig(raw: unknown, baseDir: string): LoadedConfig {
  const result = ServiceConfigSchema.safeParse(interpolate(raw, ""));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(`${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  const config = result.data;
  try {
    config.plugins = config.plugins.map((entry, index) => ({
      ...entry,
      settings: resolveSharedSettings(config.sharedSettings, entry.settings, `plugins.${index}.settings`),
    }));
  } catch (error) {
    if (error instanceof SharedSettingsError) throw new ConfigError(error.message);
    throw error;
  }
  return { config, baseDir, dataDir: resolve(baseDir, config.dataDir) };
}

export function loadServiceConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseServiceConfig(parse(text), dirname(resolve(file)));
}
