import type { JsonValue } from "@bufbuild/protobuf";
import type { ChangePreview } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { timeText } from "../format.ts";

const destructiveOps = new Set(["delete", "replace", "create-replacement", "delete-replaced", "discard"]);
const order = ["create", "update", "replace", "delete"];

interface PlannedStep {
  op: string;
  type: string;
  name: string;
  diffs: string[];
  replaceKeys: string[];
}

function plannedSteps(details: Record<string, JsonValue> | undefined): PlannedStep[] {
  const changes = details?.changes;
  if (!Array.isArray(changes)) return [];
  return changes.flatMap((c) => {
    if (c === null || typeof c !== "object" || Array.isArray(c)) return [];
    const strings = (v: JsonValue | undefined) => (Array.isArray(v) ? v.map(String) : []);
    return [
      {
        op: String(c.op ?? ""),
        type: String(c.type ?? ""),
        name: String(c.name ?? ""),
        diffs: strings(c.diffs),
        replaceKeys: strings(c.replaceKeys),
      },
    ];
  });
}

/** What the engine plans to do: counts by operation, then each step; deletes and replacements stand out. */
export function PreviewView({ preview }: { preview?: ChangePreview }) {
  if (!preview?.time) {
    return (
      <p className="muted">
        No preview yet: the engine plans a change when it reaches the head of its resource's queue.
      </p>
    );
  }
  const ops = Object.keys(preview.steps).sort((a, b) => {
    const i = order.indexOf(a);
    const j = order.indexOf(b);
    return (i < 0 ? 99 : i) - (j < 0 ? 99 : j);
  });
  const steps = plannedSteps(preview.details);
  return (
    <div data-testid="preview">
      {preview.destructive && (
        <p className="destructive" role="note">
          <strong>Destructive:</strong> this change deletes or replaces a stateful resource. Data in it will be lost.
        </p>
      )}
      <ul className="step-counts" aria-label="Planned steps">
        {ops.length === 0 && <li>nothing to do</li>}
        {ops.map((op) => (
          <li key={op} className={destructiveOps.has(op) ? "destructive-op" : undefined}>
            <strong>{preview.steps[op]}</strong> {op === "replace" ? "replacement" : op}
            {(preview.steps[op] ?? 0) === 1 ? "" : "s"}
          </li>
        ))}
      </ul>
      {steps.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption>Planned steps (previewed {timeText(preview.time)})</caption>
            <thead>
              <tr>
                <th scope="col">Operation</th>
                <th scope="col">Resource</th>
                <th scope="col">Properties that differ</th>
              </tr>
            </thead>
            <tbody>
              {steps.map((s, i) => (
                <tr key={i} className={destructiveOps.has(s.op) ? "destructive-op" : undefined}>
                  <td>{s.op}</td>
                  <td>
                    <code>{s.name}</code> <span className="muted">({s.type})</span>
                  </td>
                  <td>
                    {s.diffs.join(", ") || "—"}
                    {s.replaceKeys.length > 0 && ` (forces replacement: ${s.replaceKeys.join(", ")})`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
