// Summarizes a V8 .cpuprofile (from `bench/run.sh --cpu-prof DIR`): where the
// server's main thread spent its time, by package and by function, self and
// inclusive. Time blocked in a native call (SQLite's fsync in COMMIT) counts
// against the JS function that made the call; "(anonymous) (native/V8)" is
// mostly better-sqlite3's native code; "(idle)" is time waiting for I/O. With
// the number of requests the window served, also prints µs per request.
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [top-n] [requests]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, requestsArg] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-summary.ts FILE.cpuprofile [top-n] [requests]");
const top = Number(topArg ?? 25);
const requests = requestsArg ? Number(requestsArg) : undefined;
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

// Time per sample: the delta to the next sample, as Chrome DevTools counts it.
const selfUs = new Map<number, number>();
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index + 1] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
});
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

function packageOf(url: string): string {
  if (!url) return "(native/V8)";
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm?.[1]) return pnpm[1];
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1]) return modules[1];
  const plinth = /packages\/([^/]+)\/(?:\.bench-ref\/)?src\/([^/]+)/.exec(url);
  if (plinth) return `plinth ${plinth[1]}/${plinth[2]}`;
  if (url.startsWith("node:")) return "node internals";
  return url.replace(/^file:\/\/.*\/(bench\/)/, "$1");
}

const label = (node: ProfileNode) =>
  `${node.callFrame.functionName || "(anonymous)"} ${packageOf(node.callFrame.url)}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ""}`;

const selfByPackage = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const inclusiveByFunction = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const pkg = node.callFrame.url ? packageOf(node.callFrame.url) : node.callFrame.functionName || "(native)";
  selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us);
  selfByFunction.set(label(node), (selfByFunction.get(label(node)) ?? 0) + us);
  // Inclusive: every distinct function on the stack gets the sample once.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const name = label(byId.get(at)!);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusiveByFunction.set(name, (inclusiveByFunction.get(name) ?? 0) + us);
  }
}

const print = (title: string, table: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const perRequest = requests ? `${(us / requests).toFixed(1).padStart(7)} µs/req  ` : "";
    process.stdout.write(
      `${((us / totalUs) * 100).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${perRequest}${name}\n`,
    );
  }
};
process.stdout.write(`${file}: ${(totalUs / 1e6).toFixed(1)} s sampled\n`);
print("self time by package", selfByPackage);
print("self time by function", selfByFunction);
print("inclusive time by function", inclusiveByFunction);
