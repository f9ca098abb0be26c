import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import * as kafka from "@pulumi/kafka";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { startKafka, pulumiBinDir, pulumiEnv } from "@plinth/testing";

const t0 = Date.now();
const lap = (what: string) => console.log(`${(Date.now() - t0).toString().padStart(6)} ms ${what}`);
const broker = await startKafka();
lap("kafka up");
const dir = mkdtempSync("/tmp/exp1-");
const state = join(dir, "state");
mkdirSync(state);
const work = join(dir, "work");
mkdirSync(work);
const program = (partitions: number) => async () => {
  const provider = new kafka.Provider("p", { bootstrapServers: [broker.bootstrapServers], tlsEnabled: false, timeout: 10 });
  const topic = new kafka.Topic("t", { name: "exp1", partitions, replicationFactor: 1 }, { provider });
  return { name: topic.name };
};
const pulumiCommand = await PulumiCommand.get({ root: join(pulumiBinDir(), "..") });
lap("PulumiCommand.get");
const stack = await LocalWorkspace.createOrSelectStack(
  { projectName: "plinth", stackName: "kafka.topic--exp1", program: program(1) },
  {
    pulumiCommand,
    workDir: work,
    projectSettings: { name: "plinth", runtime: "nodejs", backend: { url: `file://${state}` } },
    envVars: { ...pulumiEnv(), PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: "x" },
  },
);
lap("createOrSelectStack");
try { await stack.cancel(); lap("cancel (no lock) ok"); } catch (e) { lap("cancel (no lock) failed: " + String(e).slice(0, 300)); }
const ex = await stack.exportStack();
lap("export: " + JSON.stringify(ex).slice(0, 200));
const r = await stack.up({ onEvent: (e) => { if (e.resourcePreEvent) lap("pre " + e.resourcePreEvent.metadata.op + " " + e.resourcePreEvent.metadata.type); if (e.resOutputsEvent) lap("out " + e.resOutputsEvent.metadata.op); } });
lap("up " + JSON.stringify(r.summary.resourceChanges));
const r2 = await stack.up();
lap("up again " + JSON.stringify(r2.summary.resourceChanges));
const pv = await stack.preview({ program: program(2) } as never);
lap("preview " + JSON.stringify(pv.changeSummary));
await broker.halt();
lap("halted");
try { await stack.up({ program: program(3) } as never); lap("up while down ok?"); } catch (e) { lap("up while down failed: " + String(e).slice(-1500)); }
await broker.stop();
lap("done");
