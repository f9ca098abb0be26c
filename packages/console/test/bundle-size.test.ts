import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { buildConsole, distDir } from "./support/browser.ts";

const budgetBytes = 200 * 1024;

describe("the console's JavaScript", () => {
  beforeAll(() => buildConsole());

  it("weighs under 200 kB gzipped, everything index.html loads included", () => {
    const assets = join(distDir, "assets");
    const scripts = readdirSync(assets).filter((f) => f.endsWith(".js"));
    expect(scripts.length).toBeGreaterThan(0);
    let raw = 0;
    let gzipped = 0;
    for (const file of scripts) {
      const body = readFileSync(join(assets, file));
      raw += body.length;
      // What the server sends to a browser that accepts gzip (zlib's default level, as the server uses).
      gzipped += gzipSync(body).length;
    }
    process.stdout.write(
      `console JavaScript: ${scripts.length} file(s), ${(raw / 1024).toFixed(1)} kB, ${(gzipped / 1024).toFixed(1)} kB gzipped (budget ${budgetBytes / 1024} kB)\n`,
    );
    expect(gzipped).toBeLessThan(budgetBytes);
  });
});
