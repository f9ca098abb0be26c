import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Ports tried below the ephemeral range before asking the kernel instead. */
const maxTries = 200;
/** How far below the ephemeral range ports are picked from. */
const spread = 16_384;

/**
 * The first port of the range the kernel gives out for outgoing connections
 * and for port 0 (Linux's `ip_local_port_range`), or undefined where that
 * cannot be read.
 */
export function ephemeralRangeStart(): number | undefined {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 + spread ? low : undefined;
  } catch {
    return undefined;
  }
}

/** Binds `port` (0: the kernel picks) on 127.0.0.1 for a moment; the port it had, or undefined if it was taken. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" || error.code === "EACCES" ? resolvePort(undefined) : reject(error),
    );
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new Error("could not read the port that was bound"));
      });
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, picked at random so
 * parallel test files do not collide on a fixed number.
 *
 * It comes from below the ephemeral range: a port from inside it (what
 * listening on port 0 gives) can be taken by any process's next outgoing
 * connection (a broker's, a Pulumi plugin's, a database client's) between
 * this probe and the server that binds it minutes later, and that server
 * then fails to start with EADDRINUSE. Below the range only another
 * freePort caller can take it.
 */
export async function freePort(): Promise<number> {
  const rangeStart = ephemeralRangeStart();
  if (rangeStart !== undefined) {
    for (let tries = 0; tries < maxTries; tries++) {
      const port = await probe(rangeStart - 1 - Math.floor(Math.random() * spread));
      if (port !== undefined) return port;
    }
  }
  const port = await probe(0);
  if (port === undefined) throw new Error("the kernel had no free port on 127.0.0.1");
  return port;
}
