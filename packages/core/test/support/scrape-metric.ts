/**
 * A counter or gauge as a Plinth server's /metrics shows it: the sum of the
 * samples named `name` whose labels include `labels` (0 when there is none).
 */
export async function scrapeMetric(
  baseUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let sum = 0;
  for (const line of (await response.text()).split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (wanted.some((pair) => !(match[2] ?? "").includes(pair))) continue;
    sum += Number(match[3]);
  }
  return sum;
}
