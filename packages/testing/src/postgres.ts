import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./free-port.ts";
import { type ManagedProcess, startManagedProcess } from "./managed-process.ts";
import { scratchDir } from "./scratch-dir.ts";
import { MissingToolError, postgresBinDir } from "./toolchain.ts";
import { waitFor } from "./wait-for.ts";

const execFileAsync = promisify(execFile);

export interface StartPostgresOptions {
  port?: number;
  startTimeoutMs?: number;
  /**
   * PostgreSQL's own durability settings (fsync, synchronous commit, full
   * page writes) instead of the tests' "off": a commit is on disk when it is
   * acknowledged. For benchmarks that compare with SQLite at FULL, and for
   * `make start-cluster`.
   */
  durable?: boolean;
}

/** A throwaway PostgreSQL server on loopback with a superuser password. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** postgres://user:password@127.0.0.1:port/postgres */
  readonly connectionString: string;
  readonly dir: string;
  stop(): Promise<void>;
  logTail(lines?: number): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** PostgreSQL will not run as root; as root, run it as the package's own user. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    throw new MissingToolError(
      "running as root but there is no 'postgres' user to run PostgreSQL as: apt-get install postgresql creates it",
    );
  }
}

async function acceptsConnections(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("select 1");
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts a real PostgreSQL server: `initdb` in a fresh directory, a free
 * port on 127.0.0.1, password (SCRAM) authentication over TCP. Resolves once
 * it accepts connections. Durability settings are off unless `durable`: a
 * test loses nothing to that, since the machine does not crash under it.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const identity = serverIdentity();
  const port = options.port ?? (await freePort());
  const dir = scratchDir("plinth-postgres");
  const dataDir = join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  const passwordFile = join(dir, "pwfile");
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  mkdirSync(dataDir, { mode: 0o700 });
  if (identity) {
    for (const path of [dir, dataDir, passwordFile]) chownSync(path, identity.uid, identity.gid);
  }

  try {
    await execFileAsync(
      join(bin, "initdb"),
      [
        "-D",
        dataDir,
        "-U",
        "postgres",
        "--pwfile",
        passwordFile,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
        ...(options.durable ? [] : ["--no-sync"]),
      ],
      { cwd: dir, ...identity },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr ?? String(error)}`, { cause: error });
  }
  rmSync(passwordFile);

  const connectionString = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  let server: ManagedProcess;
  try {
    server = startManagedProcess({
      name: "postgres",
      command: join(bin, "postgres"),
      args: [
        "-D",
        dataDir,
        "-p",
        String(port),
        "-k",
        dir,
        "-c",
        "listen_addresses=127.0.0.1",
        ...(options.durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
        "-c",
        "max_connections=200",
      ],
      dir,
      // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to leave.
      stopSignal: "SIGINT",
      ...identity,
    });
    const started = server;
    await waitFor(() => acceptsConnections(connectionString), {
      what: `PostgreSQL on 127.0.0.1:${port}`,
      timeoutMs: options.startTimeoutMs ?? 30_000,
      abortReason: () => {
        const status = started.exitStatus();
        return status && `postgres ${status}; its log ends with:\n${started.logTail()}`;
      },
    }).catch(async (error: unknown) => {
      await started.kill();
      throw error;
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    host: "127.0.0.1",
    port,
    user: "postgres",
    password,
    database: "postgres",
    connectionString,
    dir,
    stop,
    logTail: (lines) => server.logTail(lines),
    [Symbol.asyncDispose]: stop,
  };
}
