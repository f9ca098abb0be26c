import type { VerifyResult } from "@plinth/core";

export interface PrometheusCheck {
  /** Base URL of a Prometheus-compatible API. */
  url: string;
  /** PromQL instant query; `{{topic}}` and `{{cluster}}` are replaced. */
  query: string;
  timeoutMs: number;
}

interface InstantQueryResponse {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** The numbers in a vector or scalar instant-query result. */
function sampleValues(data: InstantQueryResponse["data"]): number[] {
  if (data?.resultType === "scalar" && Array.isArray(data.result)) return [Number(data.result[1])];
  if (data?.resultType !== "vector" || !Array.isArray(data.result)) return [];
  return (data.result as { value?: [number, string] }[]).map((sample) => Number(sample.value?.[1]));
}

/**
 * Ready when the query returns at least one non-zero sample. The original
 * system counts a topic as created once the metrics platform shows it
 * (`kafka.log:type=Log,name=Size,topic=T`), which corroborates the
 * provisioner independently. Kafka keeps an empty partition's log at 0 bytes,
 * so a query should count the partitions reporting a size, not sum the bytes.
 * Never throws: an unreachable or failing Prometheus is "not ready yet", and
 * `unknown`: it says nothing about the topic.
 */
export async function checkPrometheus(check: PrometheusCheck, topic: string, cluster: string): Promise<VerifyResult> {
  const query = check.query.replaceAll("{{topic}}", topic).replaceAll("{{cluster}}", cluster);
  const url = new URL("api/v1/query", check.url.endsWith("/") ? check.url : `${check.url}/`);
  url.searchParams.set("query", query);
  let body: InstantQueryResponse;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(check.timeoutMs) });
    body = (await response.json()) as InstantQueryResponse;
    if (!response.ok || body.status !== "success") {
      return {
        ready: false,
        unknown: true,
        message: `Prometheus answered ${response.status}: ${body.error ?? "no error text"}`,
      };
    }
  } catch (error) {
    return {
      ready: false,
      unknown: true,
      message: `Prometheus at ${check.url} unreachable: ${(error as Error).message}`,
    };
  }
  const values = sampleValues(body.data);
  if (values.some((value) => Number.isFinite(value) && value !== 0)) {
    return { ready: true, message: `Prometheus reports ${query} = ${values.join(", ")}` };
  }
  return { ready: false, message: `Prometheus has no non-zero value yet for ${query}` };
}
