import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { postgresBinDir, repoRoot } from "@plinth/testing";
import { plinthBin } from "./run-plinth-cli.ts";

/**
 * The runbook sections of the operators' docs: every shell block in them carries `runbook=<id>` and is run, from
 * the doc's own text, by a test calling `runRunbook("<id>", ...)` (runbook-commands.test.ts checks both).
 */
export const runbookSections: Record<string, string[]> = {
  "docs/operating.md": ["Rolling upgrades", "Backup and restore", "Alert rules"],
  "docs/security.md": ["Rotating `secrets.key`", "Running with TLS and real tokens"],
};

export interface RunbookBlock {
  doc: string;
  section: string;
  lang: string;
  /** `runbook=<id>` after the block's language, if any. */
  id?: string;
  body: string;
}

/** The fenced blocks of `doc` (indented ones in lists too, dedented), each with the heading it is under. */
export function docBlocks(doc: string): RunbookBlock[] {
  const text = readFileSync(join(repoRoot, doc), "utf8");
  const blocks: RunbookBlock[] = [];
  let section = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#+ (.*)$/.exec(lines[i]!);
    if (heading) {
      section = heading[1]!;
      continue;
    }
    const fence = /^( *)```(\w+)(.*)$/.exec(lines[i]!);
    if (!fence) continue;
    const [, indent, lang, info] = fence;
    const end = lines.findIndex((line, at) => at > i && line === `${indent}\`\`\``);
    if (end < 0) throw new Error(`${doc}:${i + 1}: a code block that never ends`);
    const body = lines
      .slice(i + 1, end)
      .map((line) => line.slice(indent!.length))
      .join("\n");
    const id = /runbook=(\S+)/.exec(info!)?.[1];
    blocks.push({ doc, section, lang: lang!, body: `${body}\n`, ...(id ? { id } : {}) });
    i = end;
  }
  return blocks;
}

/** Every shell block of the runbook sections. */
export function runbookBlocks(): RunbookBlock[] {
  return Object.entries(runbookSections).flatMap(([doc, sections]) =>
    docBlocks(doc).filter((block) => block.lang === "sh" && sections.includes(block.section)),
  );
}

/** The text of the runbook command `id`, as the doc has it. */
export function runbookCommand(id: string): string {
  const found = runbookBlocks().filter((block) => block.id === id);
  if (found.length !== 1) throw new Error(`${found.length} runbook blocks are marked runbook=${id}`);
  return found[0]!.body;
}

const serverBin = join(import.meta.dirname, "../../bin/plinth-server.js");

/**
 * A folder with this checkout's `plinth` (the CLI) and `plinth-server`, run by this Node, as an installation puts
 * them on PATH: for the runbook's `plinth ...` and `plinth-server ...` commands.
 */
let binDir: string | undefined;
function installedBins(): string {
  if (binDir) return binDir;
  binDir = mkdtempSync(join(tmpdir(), "plinth-runbook-bin-"));
  for (const [name, script] of [
    ["plinth", plinthBin],
    ["plinth-server", serverBin],
  ]) {
    writeFileSync(join(binDir, name!), `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`);
    chmodSync(join(binDir, name!), 0o755);
  }
  return binDir;
}

/**
 * Runs the runbook command `id` with bash (`set -e -o pipefail`) in `cwd`, with `env` over this process's
 * environment and, on PATH first, the PostgreSQL tools the test's server matches, `plinth`, `plinth-server` and Node. Resolves with
 * what it printed; rejects with the command and its output when it fails.
 */
export async function runRunbook(id: string, options: { cwd: string; env?: Record<string, string> }): Promise<string> {
  const command = runbookCommand(id);
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST") && key !== "NODE_OPTIONS"),
  );
  const path = [postgresBinDir(), installedBins(), dirname(process.execPath), process.env.PATH].join(":");
  const child = spawn("bash", ["-c", `set -e -o pipefail\n${command}`], {
    cwd: options.cwd,
    env: { ...inherited, PATH: path, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let printed = "";
  const collect = (chunk: Buffer): void => {
    printed += stripVTControlCharacters(chunk.toString());
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0)
    throw new Error(`runbook command ${id} failed (exit ${code}):\n${command}--- it printed:\n${printed}`);
  return printed;
}
