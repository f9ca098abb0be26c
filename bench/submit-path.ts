// The submit path alone, in-process: ApplyResource's domain and store work
// without HTTP, Connect or a load generator.
//   node --import tsx bench/submit-path.ts [--rounds 9] [--size 10000]
// Submits creates 50 at a time through `submitApply` on the real SQLite store
// (synchronous FULL, the store's own syncs), and prints the main thread's CPU
// per submit (and every thread's CPU, and wall-clock time) for 9 rounds of 10,000 after a warm-up round of 5,000: the figure
// that limits ApplyResource's throughput, with less noise than the HTTP
// benchmark. Each round's database is larger than the one before, so later
// rounds cost a little more.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger, parseServiceConfig, startPlinthService } from "@plinth/core";
import { createNotifier } from "../packages/core/src/domain/notifier.ts";
import { notificationSettings } from "../packages/core/src/notifications/notification-settings.ts";
import { createSecretBox } from "../packages/core/src/secrets/secret-box.ts";
import { defaultReviewPolicy } from "../packages/core/src/domain/review-policy.ts";
import { submitApply } from "../packages/core/src/domain/submit-change.ts";
import { createChangeIdSource } from "../packages/core/src/server/change-ids.ts";
import { benchPrincipal, widgetType } from "./common.ts";
import { benchConfig, noopEngine } from "./plinth-setup.ts";

const dataRoot = join(import.meta.dirname, ".plinth");
mkdirSync(dataRoot, { recursive: true });
const dataDir = mkdtempSync(join(dataRoot, "submit-"));
const loaded = parseServiceConfig(benchConfig(dataDir), dataDir);
const service = await startPlinthService(loaded, {
  createEngine: () => noopEngine,
  logger: createLogger({ level: "silent" }),
  worker: false,
});
const deps = {
  store: service.store,
  plugins: service.plugins,
  reviewPolicy: defaultReviewPolicy,
  limits: loaded.config.limits,
  notifier: createNotifier(),
  // The bench config has no subscriptions: nothing goes to the outbox, as in a service without webhooks.
  notifications: notificationSettings(loaded.config, service.url, createSecretBox(loaded.config.secrets.key)),
  now: () => new Date(),
  newId: createChangeIdSource(),
};
const caller = { id: benchPrincipal.id, team: benchPrincipal.team, roles: [...benchPrincipal.roles] };

const { values: args } = parseArgs({
  options: { rounds: { type: "string", default: "9" }, size: { type: "string", default: "10000" } },
});
const rounds = Number(args.rounds);
const size = Number(args.size);

let made = 0;
/** Per submit: the main thread's CPU, every thread's CPU (the process's), and wall-clock time, in µs. */
async function round(count: number): Promise<{ main: number; all: number; wall: number }> {
  const start = process.threadCpuUsage();
  const startAll = process.cpuUsage();
  const startWall = performance.now();
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      // Named like the load generator's: 50 clients, each counting, so new rows land in 50 places of each index.
      Array.from({ length: 50 }, (_, client) => {
        const id = `${client}-${made}`;
        return submitApply(deps, caller, {
          type: widgetType,
          name: `w-${id}`,
          spec: { size: 7 },
          requestId: `r-${id}`,
          comment: "",
          labels: {},
        });
      }),
    );
    made += 1;
  }
  const used = process.threadCpuUsage(start);
  const usedAll = process.cpuUsage(startAll);
  return {
    main: (used.user + used.system) / count,
    all: (usedAll.user + usedAll.system) / count,
    wall: ((performance.now() - startWall) * 1000) / count,
  };
}

try {
  await round(Math.ceil(size / 2));
  const perSubmit: { main: number; all: number; wall: number }[] = [];
  for (let r = 0; r < rounds; r++) perSubmit.push(await round(size));
  for (const key of ["main", "all", "wall"] as const) {
    const values = perSubmit.map((p) => p[key]);
    const sorted = [...values].sort((a, b) => a - b);
    const what = { main: "main-thread CPU", all: "all threads' CPU", wall: "wall-clock time" }[key];
    console.log(`${what} per submit, µs: ${values.map((us) => us.toFixed(1)).join("  ")}`);
    console.log(`  median ${sorted[Math.floor(rounds / 2)]!.toFixed(1)}, min ${sorted[0]!.toFixed(1)}`);
  }
} finally {
  await service.close();
  rmSync(dataDir, { recursive: true, force: true });
}
