import { runProgram } from "@plinth/testing";
import { describe, expect, it } from "vitest";
import { localFile } from "../src/index.ts";

// Pulumi mocks: no engine, no provider process, no disk. Fast enough to run on every save.
describe("local.file program (Pulumi mocks)", () => {
  const settings = { root: "/srv/files" };

  it("declares one dynamic resource with the resolved spec and returns the file", async () => {
    const run = await runProgram(
      localFile,
      { path: "notes/./today.txt", content: "hello" },
      { name: "today", settings },
    );
    expect(run.spec).toEqual({ path: "notes/./today.txt", content: "hello", mode: "0644" });
    expect(run.resources).toEqual([
      {
        type: "pulumi-nodejs:dynamic:Resource",
        name: "today",
        inputs: expect.objectContaining({
          file: "/srv/files/notes/today.txt",
          content: "hello",
          mode: "0644",
        }) as unknown,
      },
    ]);
    expect(run.outputs.file).toBe("/srv/files/notes/today.txt");
  });

  it("returns what the provider reports, e.g. the content hash", async () => {
    const run = await runProgram(
      localFile,
      { path: "a.txt", content: "x", mode: "0600" },
      {
        settings,
        mocks: { newResource: ({ inputs }) => ({ id: String(inputs.file), state: { ...inputs, sha256: "abc" } }) },
      },
    );
    expect(run.outputs).toEqual({ file: "/srv/files/a.txt", sha256: "abc" });
    expect(run.resources[0]?.inputs.mode).toBe("0600");
  });

  it("starts every run from a fresh mock monitor", async () => {
    await runProgram(localFile, { path: "one.txt", content: "1" }, { name: "one", settings });
    const second = await runProgram(localFile, { path: "two.txt", content: "2" }, { name: "two", settings });
    expect(second.resources.map((resource) => resource.name)).toEqual(["two"]);
  });
});
