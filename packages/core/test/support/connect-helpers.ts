import { fromBinary } from "@bufbuild/protobuf";
import { type Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@plinth/sdk/gen/google/rpc/error_details_pb.ts";
import type { Change } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import type { Clients } from "./test-service.ts";

/** Runs a call that must fail; returns its Connect code and field violations. */
export async function failure(call: Promise<unknown>): Promise<{
  code: Code;
  fields: string[];
  violations: { field: string; reason: string; description: string }[];
  message: string;
}> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    const violations = connectError
      .findDetails(BadRequestSchema)
      .flatMap((detail) => detail.fieldViolations)
      .map(({ field, reason, description }) => ({ field, reason, description }));
    const fields = violations.map((violation) => violation.field);
    return { code: connectError.code, fields, violations, message: connectError.rawMessage };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Follows WatchChange until the change is final; returns the final change and every event message. */
export async function watchToEnd(clients: Clients, id: string): Promise<{ change: Change; messages: string[] }> {
  let change: Change | undefined;
  const messages: string[] = [];
  for await (const update of clients.changes.watchChange({ id })) {
    change = update.change;
    messages.push(update.event?.message ?? "");
  }
  if (!change) throw new Error(`no updates for change ${id}`);
  return { change, messages };
}

export { fromBinary, BadRequestSchema };
