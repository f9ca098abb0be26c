import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KafkaSettings, suggestPartitions } from "../src/index.ts";

/** The rows of the worked-examples table in docs/kafka.md, as numbers. */
function exampleRows(): number[][] {
  const readme = readFileSync(join(import.meta.dirname, "../../../docs/kafka.md"), "utf8");
  const table = /<!-- partition-examples -->([\s\S]*?)<!-- \/partition-examples -->/.exec(readme)?.[1] ?? "";
  return table
    .split("\n")
    .filter((line) => /^\|\s*[\d,]+\s*\|/.test(line))
    .map((line) =>
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => Number(cell.trim().replaceAll(",", ""))),
    );
}

describe("docs/kafka.md worked examples", () => {
  const cluster = KafkaSettings.parse({ clusters: { c: { bootstrapServers: ["b:9092"] } } }).clusters.c!;
  const rows = exampleRows();

  it("has examples", () => {
    expect(rows.length).toBeGreaterThanOrEqual(4);
  });

  it.each(rows)(
    "peak %d msg/s of %d B: %d by bytes, %d by messages → %d partitions",
    (peak, bytes, byBytes, byMessages, partitions) => {
      const suggestion = suggestPartitions(
        { peakMessagesPerSecond: peak!, averageMessageBytes: bytes!, maxMessageBytes: bytes! },
        cluster,
      );
      expect(suggestion.partitions).toBe(partitions);
      expect(suggestion.explanation).toContain(`needs ${byBytes} partition(s)`);
      expect(suggestion.explanation).toContain(`and ${byMessages} at`);
    },
  );
});
