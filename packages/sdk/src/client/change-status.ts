import { ChangeStatus } from "../gen/plinth/v1/change_pb.ts";

const finalStatuses: ReadonlySet<ChangeStatus> = new Set([
  ChangeStatus.SUCCEEDED,
  ChangeStatus.FAILED,
  ChangeStatus.REJECTED,
  ChangeStatus.CANCELLED,
]);

/**
 * True when nothing more happens to a change with this status by itself.
 * FAILED is final although `RetryChange` can re-queue it: that is a new
 * decision by a person, not progress to wait for.
 */
export function isFinalChangeStatus(status: ChangeStatus): boolean {
  return finalStatuses.has(status);
}
