import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describePluginContract } from "@plinth/testing";
import { expect } from "vitest";
import { localFile } from "../src/index.ts";

const file = (settings: Record<string, unknown>, spec: Record<string, unknown>) =>
  join(String(settings.root), String(spec.path));

describePluginContract(localFile, {
  settings: { root: "/srv/files" },
  valid: [
    { name: "today", spec: { path: "notes/today.txt", content: "hello" } },
    { name: "secret", spec: { path: "private.txt", content: "", mode: "0600" }, description: "empty, owner-only" },
  ],
  invalid: [
    { name: "x", spec: { path: "/etc/passwd", content: "" }, field: "path", description: "an absolute path" },
    { name: "x", spec: { path: "../outside.txt", content: "" }, field: "path", description: "a path leaving the root" },
    { name: "x", spec: { path: "a.txt", content: "", mode: "rwx" }, field: "mode" },
    { name: "x", spec: { path: "a.txt" }, field: "content", description: "no content" },
    { name: "x", spec: { path: "a.txt", content: "", owner: "me" }, field: "owner", description: "an unknown field" },
  ],
  sameIdentity: [
    {
      description: "the content and mode change",
      name: "today",
      spec: { path: "notes/today.txt", content: "hello" },
      edited: { path: "notes/./today.txt", content: "bye", mode: "0600" },
    },
  ],
  real: {
    plugin: { module: new URL("../src/index.ts", import.meta.url).href, export: "localFile" },
    // The "infrastructure" is a directory: nothing to start.
    async setup() {
      const root = mkdtempSync(join(process.env.PLINTH_TEST_TMP ?? tmpdir(), "local-file-"));
      return { settings: { root }, stop: async () => rmSync(root, { recursive: true, force: true }) };
    },
    create: { path: "notes/today.txt", content: "hello\n" },
    update: { path: "notes/today.txt", content: "hello again\n", mode: "0600" },
    check: async ({ spec, settings }) => {
      expect(readFileSync(file(settings, spec), "utf8")).toBe(spec.content);
    },
    checkGone: async ({ spec, settings }) => {
      expect(existsSync(file(settings, spec))).toBe(false);
    },
    drift: async ({ spec, settings }) => {
      writeFileSync(file(settings, spec), "edited by hand\n");
    },
  },
});
