import type { JsonValue } from "@bufbuild/protobuf";
import { diffRows, show } from "../format.ts";

const opWords = { same: "unchanged", added: "added", removed: "removed", changed: "changed" } as const;

/** Two JSON documents side by side, one row per leaf path; only the differing rows are marked. */
export function SpecDiff(props: {
  before?: JsonValue;
  after?: JsonValue;
  beforeLabel: string;
  afterLabel: string;
  caption: string;
}) {
  const rows = diffRows(props.before, props.after);
  const changed = rows.filter((r) => r.op !== "same").length;
  return (
    <div className="table-wrap">
      <table className="diff" data-testid="spec-diff">
        <caption>
          {props.caption}: {changed === 0 ? "no differences" : `${changed} of ${rows.length} values differ`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">{props.beforeLabel}</th>
            <th scope="col">{props.afterLabel}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.path} className={`op-${r.op}`}>
              <th scope="row">
                <code>{r.path}</code>
                {r.op !== "same" && <span className="visually-hidden"> ({opWords[r.op]})</span>}
              </th>
              <td className="before">
                <code>{show(r.before)}</code>
              </td>
              <td className="after">
                <code>{show(r.after)}</code>
              </td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={3}>Both are empty.</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
