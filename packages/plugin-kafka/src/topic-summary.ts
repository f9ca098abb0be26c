import type { ResourceSummary, SummaryFact, VerifyInput } from "@plinth/core";
import type { KafkaSettings } from "./cluster-settings.ts";
import { queryPrometheus } from "./prometheus-query.ts";
import type { TopicSpec } from "./topic-spec.ts";

/** Points a log-size series has at most: enough for a small chart, little to send. */
const maxPoints = 120;

/**
 * A topic's page: its partitions and replication factor (as verified), its
 * log size now and over the last hours from Prometheus (the metric its
 * verification reads), and consumer lag where a lag query is configured.
 * Reads only; what Prometheus cannot answer is named in `missing`.
 */
export async function summarizeTopic({
  name,
  spec,
  settings,
}: Omit<VerifyInput<TopicSpec, KafkaSettings>, "secretOutputs">): Promise<ResourceSummary> {
  const facts: SummaryFact[] = [];
  // The resolved spec always has them (defaults fill them in); the type allows a spec before defaults.
  if (spec.partitions !== undefined) {
    facts.push({ label: "Partitions", value: spec.partitions, unit: "count", source: "spec" });
  }
  if (spec.replicationFactor !== undefined) {
    facts.push({ label: "Replication factor", value: spec.replicationFactor, unit: "count", source: "spec" });
  }
  const cluster = settings.clusters[spec.cluster];
  const summary = cluster?.summary;
  const url = summary?.url ?? cluster?.verify?.prometheus?.url;
  if (!summary && !url) {
    return {
      facts,
      missing: [
        `log size and consumer lag: no Prometheus is configured for cluster "${spec.cluster}" ` +
          `(clusters.${spec.cluster}.summary.url or verify.prometheus.url)`,
      ],
    };
  }
  const fill = (query: string) => query.replaceAll("{{topic}}", name).replaceAll("{{cluster}}", spec.cluster);
  const hours = summary?.hours ?? 6;
  const timeoutMs = summary?.timeoutMs ?? 3_000;
  const logSizeQuery = fill(summary?.logSizeQuery ?? 'sum(kafka_log_size{cluster="{{cluster}}",topic="{{topic}}"})');
  const end = Date.now() / 1000;
  const step = Math.max(15, Math.ceil((hours * 3600) / maxPoints));
  const [logSize, lag] = await Promise.all([
    queryPrometheus(
      url!,
      "query_range",
      { query: logSizeQuery, start: String(end - hours * 3600), end: String(end), step: String(step) },
      timeoutMs,
    ),
    summary?.lagQuery ? queryPrometheus(url!, "query", { query: fill(summary.lagQuery) }, timeoutMs) : undefined,
  ]);

  const missing: string[] = [];
  const series: ResourceSummary["series"] = [];
  const points = logSize.series?.[0]?.points ?? [];
  if (logSize.error !== undefined) missing.push(`log size: ${logSize.error}`);
  else if (points.length === 0)
    missing.push(`log size: Prometheus has no value for ${logSizeQuery} in the last ${hours} h`);
  else {
    facts.push({ label: "Log size", value: points.at(-1)![1], unit: "bytes", source: "Prometheus" });
    series.push({
      label: `Log size, last ${hours} h`,
      unit: "bytes",
      source: "Prometheus",
      points: points.map(([time, value]) => ({ time: new Date(time * 1000), value })),
    });
  }
  if (!lag) {
    missing.push(
      `consumer lag: the brokers do not export it; clusters.${spec.cluster}.summary.lagQuery can read it ` +
        "from a lag exporter",
    );
  } else if (lag.error !== undefined) missing.push(`consumer lag: ${lag.error}`);
  else {
    for (const group of lag.series) {
      const value = group.points.at(-1)?.[1];
      if (value === undefined || !Number.isFinite(value)) continue;
      facts.push({
        label: `Lag of ${group.metric.group ?? "a consumer group"}`,
        value,
        unit: "messages",
        source: "Prometheus",
      });
    }
  }
  return { facts, series, missing };
}
