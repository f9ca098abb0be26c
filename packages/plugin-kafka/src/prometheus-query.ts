/** One series of a Prometheus answer: its labels and its points (seconds since the epoch, value). */
export interface PromSeries {
  metric: Record<string, string>;
  points: [number, number][];
}

export type PromAnswer = { series: PromSeries[]; error?: undefined } | { series?: undefined; error: string };

interface QueryResponse {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: unknown; values?: unknown }[] };
}

const point = (raw: unknown): [number, number] => {
  const [time, value] = raw as [number, string];
  return [Number(time), Number(value)];
};

/**
 * Asks a Prometheus-compatible API (`api/v1/query` or `api/v1/query_range`).
 * Never throws: an unreachable or refusing Prometheus is an `error` in words.
 */
export async function queryPrometheus(
  base: string,
  endpoint: "query" | "query_range",
  params: Record<string, string>,
  timeoutMs: number,
): Promise<PromAnswer> {
  const url = new URL(`api/v1/${endpoint}`, base.endsWith("/") ? base : `${base}/`);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  let body: QueryResponse;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    body = (await response.json()) as QueryResponse;
    if (!response.ok || body.status !== "success") {
      return { error: `Prometheus answered ${response.status}: ${body.error ?? "no error text"}` };
    }
  } catch (error) {
    return { error: `Prometheus at ${base} unreachable: ${(error as Error).message}` };
  }
  const series = (body.data?.result ?? []).map((row) => ({
    metric: row.metric ?? {},
    points: Array.isArray(row.values) ? row.values.map(point) : row.value ? [point(row.value)] : [],
  }));
  return { series };
}
