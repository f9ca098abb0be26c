const units: [number, string][] = [
  [24 * 60 * 60 * 1000, "day"],
  [60 * 60 * 1000, "hour"],
  [60 * 1000, "minute"],
  [1000, "second"],
];

/** "7 days", "36 hours", "1500 ms", "forever" (-1): durations as people say them. */
export function formatDuration(ms: number): string {
  if (ms === -1) return "forever";
  for (const [size, unit] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? "" : "s"}`;
  }
  return `${ms} ms`;
}

/** "1 MiB", "9.8 MiB", "512 B": sizes with one decimal at most. */
export function formatBytes(bytes: number): string {
  const steps = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let step = 0;
  while (value >= 1024 && step < steps.length - 1) {
    value /= 1024;
    step += 1;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${rounded} ${steps[step]}`;
}
