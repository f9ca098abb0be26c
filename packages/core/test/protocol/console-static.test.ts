import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestService, principals, startTestService } from "../support/test-service.ts";

/** A GET with the path sent exactly as given: fetch would normalise "../" away before it left. */
function rawGet(
  url: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the server serves the built console under /", () => {
  let root: string;
  let service: TestService;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "plinth-console-"));
    const dist = join(root, "dist");
    mkdirSync(join(dist, "assets"), { recursive: true });
    writeFileSync(join(dist, "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(join(dist, "assets", "index-abc123.js"), "console.log('hi')");
    writeFileSync(join(dist, "assets", "index-abc123.css"), "body{}");
    writeFileSync(join(dist, ".build-hash"), "0123");
    // Next to dist, not in it: must never be served.
    writeFileSync(join(root, "secret.txt"), "top secret");
    service = await startTestService({ config: { console: { dir: dist } } });
  });
  afterAll(async () => {
    await service?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("answers / with index.html, revalidated on every load", async () => {
    const res = await fetch(`${service.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(await res.text()).toContain("<title>console</title>");
  });

  it("tells the console the review reminder and the platform teams, from the config (issue 27)", async () => {
    const res = await fetch(`${service.url}/console-settings.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    // The test config's: the default reminder (one hour), and the cast's platform team.
    expect(await res.json()).toEqual({ review: { remindAfterMs: 3_600_000, platformTeams: ["platform"] } });
  });

  it("serves hashed assets with their type, cached for good", async () => {
    const js = await fetch(`${service.url}/assets/index-abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await js.text()).toBe("console.log('hi')");
    // fetch asks for gzip and undoes it; a client that does not ask gets the bytes as they are.
    expect(js.headers.get("content-encoding")).toBe("gzip");
    const plain = await rawGet(service.url, "/assets/index-abc123.js");
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body).toBe("console.log('hi')");
    const css = await fetch(`${service.url}/assets/index-abc123.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("answers client routes with index.html and missing files with 404", async () => {
    const route = await fetch(`${service.url}/changes/chg_123?x=1`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain("<title>console</title>");
    // A topic's page, loaded directly: its name's dots are not a file extension (issue 26).
    const dotted = await fetch(`${service.url}/resources/kafka.topic/orders.placed.v1`);
    expect(dotted.status).toBe(200);
    expect(await dotted.text()).toContain("<title>console</title>");
    const missing = await fetch(`${service.url}/assets/gone-000.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const hidden = await fetch(`${service.url}/.build-hash`);
    expect(await hidden.text()).not.toContain("0123");
  });

  it("answers HEAD with the headers of GET and no body", async () => {
    const res = await fetch(`${service.url}/assets/index-abc123.js`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await res.text()).toBe("");
  });

  it("never serves a file outside its directory, however the path is spelled", async () => {
    for (const path of [
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/assets/..%2f..%2fsecret.txt",
      "/%2e%2e%2f%2e%2e%2fetc/passwd",
      "/secret.txt%00.js",
    ]) {
      const res = await rawGet(service.url, path);
      expect(res.body, path).not.toContain("top secret");
      expect(res.body, path).not.toContain("root:");
      expect([200, 400, 404], path).toContain(res.status);
      // A 200 can only be the page itself (a client route), never another file.
      if (res.status === 200) expect(res.body).toContain("<title>console</title>");
    }
  });

  it("leaves the API, /healthz and non-GET requests alone", async () => {
    expect(await (await fetch(`${service.url}/healthz`)).text()).toBe("ok\n");
    const post = await fetch(`${service.url}/`, { method: "POST" });
    expect(post.status).toBe(404);
    // Under /plinth.v1. a caller authenticates first (before anything reads a body), then learns what is there.
    expect((await fetch(`${service.url}/plinth.v1.Nope/Nothing`)).status).toBe(401);
    const unknownRpc = await fetch(`${service.url}/plinth.v1.Nope/Nothing`, {
      headers: { authorization: `Bearer ${principals.requester.token}` },
    });
    expect(unknownRpc.status).toBe(404);
    expect(await unknownRpc.text()).toContain("the API lives under /plinth.v1.*");
  });
});

describe("a server whose console is not built", () => {
  let root: string;
  let service: TestService;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "plinth-console-empty-"));
    service = await startTestService({ config: { console: { dir: root } } });
  });
  afterAll(async () => {
    await service?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("says so on a 503 page instead of a blank one, and the API still works", async () => {
    const res = await fetch(`${service.url}/`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).toContain("Console not built");
    expect(text).toContain("make setup");
    const list = await service.as("requester").plugins.listPlugins({});
    expect(list.plugins.map((p) => p.type)).toContain("test.widget");
  });
});
