import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import Table from "cli-table3";
import { stringify } from "yaml";
import {
  type AccessRequest,
  ChangeStatus,
  ReviewDecision,
  type Change,
  type ChangeEvent,
  changeKindName,
  changeStatusName,
} from "@plinth/sdk";

export { changeKindName, changeStatusName, plainJson as messageJson, resourceStatusName } from "@plinth/sdk";

/** `2025-01-31 12:00:00Z`, or `-` when unset. */
export function formatTime(timestamp: Timestamp | undefined): string {
  if (!timestamp) {
    return "-";
  }
  return timestampDate(timestamp)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

/** A borderless, uncoloured table, aligned in columns like `kubectl get`. */
export function renderTable(head: string[], rows: string[][]): string {
  const table = new Table({
    head,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 2 },
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "",
    },
  });
  table.push(...rows);
  return `${table
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")}\n`;
}

/** `value` as an indented YAML block, for specs and outputs shown to people. */
export function yamlBlock(value: unknown, indent = "  "): string {
  const text = stringify(value ?? {}).trimEnd();
  return `${text
    .split("\n")
    .map((line) => indent + line)
    .join("\n")}\n`;
}

/** One line about a change: `change 42: CREATE kafka.topic/orders: PENDING_REVIEW (0/1 approvals)`. */
export function describeChange(change: Change): string {
  const approvals = change.reviews.filter((review) => review.decision === ReviewDecision.APPROVED).length;
  const review =
    change.status === ChangeStatus.PENDING_REVIEW ? ` (${approvals}/${change.requiredApprovals} approvals)` : "";
  const error = change.lastError ? `: ${change.lastError}` : "";
  const asks = change.accessRequests.map((request) => `\n  ${describeAccessRequest(request)}`).join("");
  return `change ${change.id}: ${changeKindName(change.kind)} ${change.type}/${change.name}: ${changeStatusName(change.status)}${review}${error}${asks}`;
}

/** "payments asks to read topics orders.* (orders: approved by oriana)": what a change asks of another team. */
export function describeAccessRequest(request: AccessRequest): string {
  const state =
    request.approvedBy.length > 0 ? `approved by ${request.approvedBy.join(", ")}` : "waiting for a reviewer";
  return `${request.requesterTeam} asks to ${request.access} (${request.ownerTeam}: ${state})`;
}

/** One line of a change's live progress. */
export function describeEvent(event: ChangeEvent): string {
  const time = event.time ? formatTime(event.time).slice(11) : "";
  const status = event.status ? `${changeStatusName(event.status)}: ` : "";
  return `${time}  ${event.kind.padEnd(10)} ${status}${event.message}`.trimEnd();
}
