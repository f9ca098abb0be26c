import { Code, ConnectError } from "@connectrpc/connect";
import { ChangeKind, ChangeStatus } from "@plinth/sdk/gen/plinth/v1/change_pb.ts";
import { ResourceSchema, ResourceStatus } from "@plinth/sdk/gen/plinth/v1/resource_pb.ts";
import { toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Clients, type TestService, startTestService } from "../support/test-service.ts";

async function waitFinal(clients: Clients, id: string) {
  let last;
  for await (const update of clients.changes.watchChange({ id })) last = update.change;
  return last;
}

describe("the change lifecycle through the real server", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });

  it("acknowledges a create, applies it, and records revision 1 with defaults and outputs", async () => {
    const alice = service.as("requester");
    const applied = await alice.resources.applyResource({
      type: "test.widget",
      name: "w-create",
      spec: { size: 3 },
      requestId: "r-create-1",
    });
    expect(applied.change?.kind).toBe(ChangeKind.CREATE);
    expect(applied.change?.status).toBe(ChangeStatus.QUEUED);
    expect(applied.change?.resolvedSpec).toEqual({ size: 3, color: "blue" });
    expect(applied.change?.explanations).toEqual({ color: "blue is the house colour" });
    const final = await waitFinal(alice, applied.change!.id);
    expect(final?.status).toBe(ChangeStatus.SUCCEEDED);
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "w-create" });
    expect(resource?.status).toBe(ResourceStatus.READY);
    expect(resource?.revision).toBe(1n);
    expect(resource?.outputs).toEqual({ name: "w-create", size: 3 });
    expect(resource?.secretOutputKeys).toEqual(["serial"]);
    expect(JSON.stringify(toJson(ResourceSchema, resource!))).not.toContain("sn-w-create");
  });

  it("needs a reviewer other than the requester for a delete", async () => {
    const alice = service.as("requester");
    const created = await alice.resources.applyResource({
      type: "test.widget",
      name: "w-del",
      spec: { size: 1 },
      requestId: "r-del-1",
    });
    await waitFinal(alice, created.change!.id);
    const deletion = await alice.resources.deleteResource({ type: "test.widget", name: "w-del", requestId: "r-del-2" });
    expect(deletion.change?.status).toBe(ChangeStatus.PENDING_REVIEW);
    expect(deletion.change?.requiredApprovals).toBe(1);

    const selfApproval = await alice.changes.approveChange({ id: deletion.change!.id }).catch((e: unknown) => e);
    expect(ConnectError.from(selfApproval).code).toBe(Code.PermissionDenied);

    const approved = await service.as("reviewer").changes.approveChange({ id: deletion.change!.id, comment: "ok" });
    expect(approved.change?.status).toBe(ChangeStatus.QUEUED);
    expect((await waitFinal(alice, deletion.change!.id))?.status).toBe(ChangeStatus.SUCCEEDED);
    const { resource } = await alice.resources.getResource({ type: "test.widget", name: "w-del" });
    expect(resource?.status).toBe(ResourceStatus.DELETED);
    const { revisions } = await alice.resources.listRevisions({ type: "test.widget", name: "w-del" });
    expect(revisions.map((r) => [r.revision, r.deleted, r.approvedBy])).toEqual([
      [2n, true, ["rita"]],
      [1n, false, []],
    ]);
  });
});
