// Helpers for a plugin's Pulumi dynamic provider: `require("@plinth/core/provider-helpers")`.
//
// Pulumi serializes a dynamic provider's functions into the stack's state and
// runs them in its own provider host process, where nothing of the plugin's
// TypeScript nor of the Plinth server is loaded. So this is plain CommonJS that
// needs no build and no loader, loads nothing of the server, and requires its
// own packages (pg) lazily, at call time, from here. A provider requires it
// inside its functions, at call time, like any package (docs/writing-a-plugin.md).
"use strict";

/**
 * Tells the engine running this operation about a secret value the provider
 * has just made (or received from elsewhere), before it is used: an error or
 * log line of this same operation that echoes it (a driver printing the
 * failed statement, say) is then scrubbed, though the value was never
 * recorded as an output. The engine names a private file for this in
 * PLINTH_GENERATED_SECRETS (0600, in the stack's 0700 work directory,
 * removed when the operation ends); outside an engine it does nothing.
 * Synchronous, so the value is known before the next line can throw.
 */
function registerSecret(value) {
  const file = require("node:process").env.PLINTH_GENERATED_SECRETS;
  if (!file || typeof value !== "string" || value.length < 4) return;
  require("node:fs").appendFileSync(file, `${JSON.stringify(value)}\n`, { mode: 0o600 });
}

/**
 * A generated password: `bytes` random bytes as base64url (24 by default: 32
 * characters that need no escaping in a URI, a shell or a connection string).
 * Registered with the engine (`registerSecret`) before it is returned.
 */
function generatePassword(bytes = 24) {
  if (!Number.isInteger(bytes) || bytes < 16) throw new RangeError(`a password needs at least 16 random bytes`);
  const password = require("node:crypto").randomBytes(bytes).toString("base64url");
  registerSecret(password);
  return password;
}

/**
 * PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802/7677, the format
 * `pg_authid` stores). Send it instead of the password (`create role ... password
 * '<verifier>'`), so the password itself never reaches the server, its statement
 * log or pg_stat_activity.
 */
function scramSha256Verifier(password) {
  const crypto = require("node:crypto");
  const iterations = 4096;
  const salt = crypto.randomBytes(16);
  const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const hmac = (key, text) => crypto.createHmac("sha256", key).update(text).digest();
  const storedKey = crypto.createHash("sha256").update(hmac(salted, "Client Key")).digest();
  const serverKey = hmac(salted, "Server Key");
  const b64 = (buffer) => buffer.toString("base64");
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

/**
 * node-postgres client settings for `connection` ({ host, port, user, database,
 * sslmode: "disable" | "require" | "verify-full", caCert? }) with `password`,
 * optionally on another `database`.
 */
function postgresClientConfig(connection, password, database, applicationName = "plinth") {
  const ssl =
    connection.sslmode === "verify-full"
      ? { rejectUnauthorized: true, ...(connection.caCert ? { ca: connection.caCert } : {}) }
      : connection.sslmode === "require"
        ? { rejectUnauthorized: false }
        : false;
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password,
    database: database ?? connection.database,
    ssl,
    connectionTimeoutMillis: 10_000,
    application_name: applicationName,
  };
}

/** Runs `use` with a connected node-postgres client (settings from `postgresClientConfig`) and always closes it. */
async function withPostgresClient(config, use) {
  const { Client } = require("pg");
  const client = new Client(config);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Keys whose values are never logged, at any depth: the same idea as the server logger's redaction. */
const secretKey = /pass(word|wd|phrase)?$|secret|token|credential|private.?key|api.?key|authorization/i;
// The password of a URI's user information: postgres://user:<this>@host.
const uriPassword = /(\/\/[^/\s:@]+:)[^@\s/]+@/g;

/**
 * A structured logger for a dynamic provider: one JSON line per entry on
 * stderr (which the provider host passes on to the engine), with every value
 * of a credential-like key, a URI's password, and every value given to
 * `conceal` replaced by "[redacted]", wherever they appear.
 */
function createProviderLogger(component, options = {}) {
  const write = options.write ?? ((line) => require("node:process").stderr.write(`${line}\n`));
  const concealed = new Set();
  const scrub = (text) => {
    let out = text.replace(uriPassword, "$1[redacted]@");
    for (const value of concealed) out = out.split(value).join("[redacted]");
    return out;
  };
  const clean = (value, depth) => {
    if (typeof value === "string") return scrub(value);
    if (value instanceof Error) return { error: scrub(value.message), ...(value.code ? { code: value.code } : {}) };
    if (value === null || typeof value !== "object") return value;
    if (depth > 8) return "[too deep]";
    if (Array.isArray(value)) return value.map((item) => clean(item, depth + 1));
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, secretKey.test(key) ? "[redacted]" : clean(item, depth + 1)]),
    );
  };
  const entry = (level) => (fields, message) =>
    write(JSON.stringify({ level, time: Date.now(), component, ...clean(fields ?? {}, 0), msg: scrub(message ?? "") }));
  return {
    debug: entry("debug"),
    info: entry("info"),
    warn: entry("warn"),
    error: entry("error"),
    /** Never log `value` (a generated password, say), whatever key or text it appears under. */
    conceal(value) {
      if (typeof value === "string" && value.length >= 4) concealed.add(value);
      registerSecret(value);
    },
  };
}

exports.registerSecret = registerSecret;
exports.generatePassword = generatePassword;
exports.scramSha256Verifier = scramSha256Verifier;
exports.postgresClientConfig = postgresClientConfig;
exports.withPostgresClient = withPostgresClient;
exports.createProviderLogger = createProviderLogger;
