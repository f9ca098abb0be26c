import { type AppliedPerHour, shortDuration } from "../applied-per-hour.ts";

const width = 480;
const height = 120;
const axis = 16;
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/**
 * The last day's changes applied per hour (bars) and their p95 time from
 * submission to success (line, on its own scale), in plain SVG: a chart
 * library would weigh more than the page's whole budget allows for this.
 * Every bar has a title with its figures, and the figures of the day are
 * written under the chart, so nothing is only in the picture.
 */
export function AppliedChart({ applied }: { applied: AppliedPerHour }) {
  const slot = width / applied.hours.length;
  const peak = Math.max(0, ...applied.hours.map((h) => h.count));
  const most = Math.max(1, peak);
  const slowest = Math.max(1, ...applied.hours.map((h) => h.p95Ms ?? 0));
  const top = (value: number, max: number) => height - axis - (value / max) * (height - axis - 4);
  const points = applied.hours.flatMap((h, i) =>
    h.p95Ms === undefined ? [] : [{ x: (i + 0.5) * slot, y: top(h.p95Ms, slowest), key: h.start }],
  );
  const label = `${applied.total} changes applied in the last day; median ${shortDuration(applied.medianMs)}, p95 ${shortDuration(applied.p95Ms)} from submission to success`;
  return (
    <figure className="applied-chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
        {applied.hours.map((h, i) => (
          <rect
            key={h.start}
            className="bar"
            data-count={h.count}
            x={i * slot + 1}
            width={slot - 2}
            y={top(h.count, most)}
            height={height - axis - top(h.count, most)}
          >
            <title>
              {`${clock(h.start)}–${clock(h.start + 3_600_000)} UTC: ${h.count} applied` +
                (h.count > 0 ? `, median ${shortDuration(h.medianMs)}, p95 ${shortDuration(h.p95Ms)}` : "")}
            </title>
          </rect>
        ))}
        <polyline className="p95" points={points.map((p) => `${p.x},${p.y}`).join(" ")} fill="none" />
        {points.map((p) => (
          <circle key={p.key} className="p95" cx={p.x} cy={p.y} r={3} />
        ))}
        <text x={0} y={height - 3} className="tick">
          24 h ago
        </text>
        <text x={width} y={height - 3} className="tick" textAnchor="end">
          now
        </text>
      </svg>
      <figcaption data-testid="applied-summary">
        <strong data-testid="applied-total">{applied.total}</strong> applied in the last day (bars, per hour; at most{" "}
        {peak}); from submission to success: median{" "}
        <span data-testid="applied-median">{shortDuration(applied.medianMs)}</span>, p95{" "}
        <span data-testid="applied-p95">{shortDuration(applied.p95Ms)}</span> (line, per hour).
      </figcaption>
    </figure>
  );
}
