import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { expect, it } from "vitest";

// The real-infrastructure checks have teeth: four plugins, each with one
// planted fault (a leaked password, a password rotated by every update, a
// provider whose diff never settles, a drift nothing looks for), run the
// contract suite in their own vitest process; each fails exactly its check.
it(
  "fails a leaked secret, an unasked rotation, a never-settling provider and unseen drift, each on its own check",
  { timeout: 900_000 },
  () => {
    const dir = join(import.meta.dirname, "fixtures/planted-faults");
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST")));
    const run = spawnSync(process.execPath, [join(import.meta.dirname, "../node_modules/vitest/vitest.mjs"), "run"], {
      cwd: dir,
      env,
      encoding: "utf8",
    });
    const output = stripVTControlCharacters(run.stdout + run.stderr);
    expect(run.status, output).toBe(1);
    const failed = [...output.matchAll(/FAIL\s+(\S+)\.contract\.ts > planted\.\w+ plugin contract > (.+)$/gm)].map(
      (match) => `${match[1]}: ${match[2]}`,
    );
    const real = "against real infrastructure > ";
    expect([...new Set(failed)].sort(), output).toEqual([
      `always-diff: ${real}converges after the create: a refreshing engine preview plans nothing`,
      `always-diff: ${real}converges after the update: a refreshing engine preview plans nothing`,
      `blind: ${real}notices a change made behind its back (DRIFTED); ReconcileResource repairs it`,
      `leak: ${real}no secret output's value appears in GetResource, ListResources, revisions, change events or logs`,
      `rotate: ${real}keeps its secret outputs (password) across the update`,
    ]);
    // Each message says where to look.
    expect(output).toMatch(/secret output \\?"password\\?" appears in GetResource/);
    expect(output).toContain("planted.alwaysdiff/contract-");
    expect(output).toMatch(/the provider's `diff` whether the recorded spec needs a change/);
    expect(output).toContain("The provider's `diff` reports a change without naming any property");
    expect(output).toMatch(/nothing noticed\. The hooks that should have:/);
    expect(output).toMatch(/the provider's `read` \(Pulumi refresh\) must return what is really there/);
    expect(output).toMatch(/the plugin's `verify`: it still says ready/);
    expect(output).toMatch(/secret outputs that changed on an update that does not ask for a rotation/);
  },
);
