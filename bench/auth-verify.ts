// What authenticating one request costs when nothing is cached: a JWT from the
// development provider (RS256, keys from its JWKS) beside the static token, in
// one process, through core's own authenticator.
//   node --import tsx bench/auth-verify.ts [--rounds 9] [--calls 2000]
// The server's auth interceptor keeps the principal per connection while the
// Authorization header stays the same (auth.ts), so a keep-alive client pays
// this once per connection and token; a client that opens a connection per
// call, or a proxy mixing callers on one, pays it on every request. Rounds
// alternate which kind goes first; the figures are medians of the rounds of
// the process's CPU (all threads: jose verifies through WebCrypto, whose work
// runs off the main thread) and wall time per call, one call at a time.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseServiceConfig } from "@plinth/core";
import { createAuthenticator } from "../packages/core/src/server/auth.ts";
import { createTokenVerifier } from "../packages/core/src/server/oidc/token-verifier.ts";
import { startDevIdp } from "../packages/testing/src/dev-idp.ts";
import { benchPrincipal } from "./common.ts";
import { benchConfig, benchJwtService } from "./plinth-setup.ts";

const { values: args } = parseArgs({
  options: { rounds: { type: "string", default: "9" }, calls: { type: "string", default: "2000" } },
});
const rounds = Number(args.rounds);
const calls = Number(args.calls);

const dataRoot = join(import.meta.dirname, ".plinth");
mkdirSync(dataRoot, { recursive: true });
const dataDir = mkdtempSync(join(dataRoot, "auth-"));
const idp = await startDevIdp({ users: { users: [], services: [benchJwtService] }, accessTokenTtlSeconds: 3600 });
try {
  const { config } = parseServiceConfig(benchConfig(dataDir, idp.issuer), dataDir);
  const authenticate = createAuthenticator(config.principals, createTokenVerifier(config.oidc!.issuers));
  const jwt = await idp.clientCredentials(benchJwtService.clientId, benchJwtService.secret);
  const headers = { static: `Bearer ${benchPrincipal.token}`, jwt: `Bearer ${jwt}` };
  // The first JWT fetches the discovery document and the key set: not counted.
  const first = await authenticate(headers.jwt);
  if (first.principal.teams?.[0]?.team !== benchPrincipal.team) throw new Error("the JWT mapped to the wrong team");

  const time = async (header: string) => {
    const cpu = process.cpuUsage();
    const wall = performance.now();
    for (let i = 0; i < calls; i++) await authenticate(header);
    const used = process.cpuUsage(cpu);
    return { cpuUs: (used.user + used.system) / calls, wallUs: ((performance.now() - wall) * 1000) / calls };
  };
  const results: Record<"static" | "jwt", { cpuUs: number; wallUs: number }[]> = { static: [], jwt: [] };
  await time(headers.static); // warm-up of both paths
  await time(headers.jwt);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (["static", "jwt"] as const) : (["jwt", "static"] as const);
    for (const kind of order) results[kind].push(await time(headers[kind]));
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const row = (kind: "static" | "jwt") => {
    const cpu = median(results[kind].map((r) => r.cpuUs));
    const wall = median(results[kind].map((r) => r.wallUs));
    return { cpu, wall };
  };
  const s = row("static");
  const j = row("jwt");
  const ratio = (pick: (r: { cpuUs: number; wallUs: number }) => number) =>
    median(results.jwt.map((r, i) => pick(r) / pick(results.static[i]!)));
  process.stdout.write(
    [
      `auth-verify: ${rounds} rounds of ${calls} calls each, medians (Node ${process.version})`,
      `| token | CPU µs/call | wall µs/call |`,
      `|---|--:|--:|`,
      `| static (SHA-256, constant-time compare) | ${s.cpu.toFixed(1)} | ${s.wall.toFixed(1)} |`,
      `| JWT (RS256, jose, claims to teams) | ${j.cpu.toFixed(1)} | ${j.wall.toFixed(1)} |`,
      `JWT ÷ static, median of the paired rounds: CPU ${ratio((r) => r.cpuUs).toFixed(1)}×, wall ${ratio((r) => r.wallUs).toFixed(1)}×; ` +
        `a JWT costs ${(j.cpu - s.cpu).toFixed(0)} µs of CPU more per uncached request.`,
      "",
    ].join("\n"),
  );
} finally {
  await idp.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
