import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

/**
 * With BENCH_PROFILE_DIR set, SIGUSR2 starts the V8 CPU profiler in this
 * process and the next SIGUSR2 writes `<dir>/<label>-<n>.cpuprofile`, so a
 * profile covers exactly a measured window (not start-up, seeding or idling,
 * as `node --cpu-prof` would). Returns a promise for the writes in flight.
 */
export function profileOnSignal(label: string): () => Promise<void> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  let running = false;
  let count = 0;
  let pending: Promise<void> = Promise.resolve();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
    );
  process.on("SIGUSR2", () => {
    pending = pending.then(async () => {
      if (!running) {
        await post("Profiler.enable");
        await post("Profiler.setSamplingInterval", { interval: 200 });
        await post("Profiler.start");
        running = true;
        return;
      }
      const { profile } = (await post("Profiler.stop")) as { profile: object };
      running = false;
      writeFileSync(join(dir, `${label}-${++count}.cpuprofile`), JSON.stringify(profile));
    });
  });
  return () => pending;
}
