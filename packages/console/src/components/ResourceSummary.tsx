import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Resource } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import type { SummarySeries } from "@plinth/sdk/gen/plinth/v1/resource_service_pb.ts";
import { Fragment } from "react";
import { summaryValue } from "../summary-format.ts";
import { useSession } from "../session.tsx";
import { useLoad } from "../use-load.ts";
import { ErrorNote } from "./ErrorNote.tsx";

const width = 480;
const height = 100;
const clock = (date: Date) => date.toISOString().slice(11, 16);

/**
 * One series as a line in plain SVG (as the overview's chart). Its figures are
 * also in the caption and the picture's label, so nothing is only in the line.
 */
function SeriesChart({ series }: { series: SummarySeries }) {
  const points = series.points.map((p) => ({ time: p.time ? timestampDate(p.time) : new Date(0), value: p.value }));
  const values = points.map((p) => p.value);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const first = points[0]!.time.getTime();
  const span = Math.max(1, points.at(-1)!.time.getTime() - first);
  const x = (time: Date) => ((time.getTime() - first) / span) * width;
  const y = (value: number) => (high === low ? height / 2 : height - 4 - ((value - low) / (high - low)) * (height - 8));
  const words =
    `${series.label}: ${summaryValue(values.at(-1)!, series.unit)} now; ` +
    `between ${summaryValue(low, series.unit)} and ${summaryValue(high, series.unit)} ` +
    `from ${clock(points[0]!.time)} to ${clock(points.at(-1)!.time)} UTC` +
    (series.source ? ` (${series.source})` : "");
  return (
    <figure className="applied-chart summary-chart" data-testid={`summary-series-${series.label}`}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={words}>
        <polyline
          className="p95"
          fill="none"
          points={points.map((p) => `${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ")}
        />
        {points.length === 1 && <circle className="p95" cx={width - 4} cy={y(points[0]!.value)} r={3} />}
      </svg>
      <figcaption>{words}</figcaption>
    </figure>
  );
}

/**
 * What the resource is now, from its plugin's summary (GetResourceSummary):
 * numbers with their units and short series. A plugin without a summary shows
 * nothing here; what the plugin could not read is listed, not an error.
 */
export function ResourceSummary({ resource }: { resource: Resource }) {
  const { api } = useSession();
  const summary = useLoad(
    (signal) => api.resources.getResourceSummary({ type: resource.type, name: resource.name }, { signal }),
    `${resource.type}/${resource.name}/${resource.revision}`,
  );
  const data = summary.data;
  if (data && data.facts.length + data.series.length + data.missing.length === 0) return null;
  return (
    <section aria-labelledby="summary-heading">
      <h2 id="summary-heading">Now</h2>
      <ErrorNote error={summary.error} onRetry={summary.reload} />
      {summary.loading && !data && <p role="status">Loading…</p>}
      {data && data.facts.length > 0 && (
        <dl className="facts" data-testid="resource-summary">
          {data.facts.map((fact) => (
            <Fragment key={fact.label}>
              <dt>{fact.label}</dt>
              <dd data-fact={fact.label} data-value={fact.value} data-unit={fact.unit}>
                {summaryValue(fact.value, fact.unit)}
                {fact.source && <span className="muted"> ({fact.source})</span>}
              </dd>
            </Fragment>
          ))}
        </dl>
      )}
      {data?.series
        .filter((s) => s.points.length > 0)
        .map((s) => (
          <SeriesChart key={s.label} series={s} />
        ))}
      {data && data.missing.length > 0 && (
        <ul className="hint" data-testid="summary-missing">
          {data.missing.map((line) => (
            <li key={line}>Not shown: {line}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
