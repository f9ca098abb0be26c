export { createPlinthClient } from "./client/create-plinth-client.ts";
export type {
  ApplyOptions,
  CallbackOptions,
  DeleteOptions,
  PlinthClient,
  PlinthClientOptions,
  ReviewOptions,
} from "./client/create-plinth-client.ts";
export type { ResourceType, ResourceTypes, SpecOf } from "./client/resource-types.ts";
export type { PlinthProtocol } from "./client/create-node-transport.ts";
export type { WaitForChangeOptions } from "./client/wait-for-change.ts";
export { createRetryInterceptor } from "./client/retry-interceptor.ts";
export { isRetryableError } from "./client/retry-policy.ts";
export type { RetryOptions } from "./client/retry-policy.ts";
export { createAuthInterceptor, type TokenSource } from "./client/auth-interceptor.ts";
export { clientCredentialsToken, type ClientCredentialsOptions } from "./client/client-credentials.ts";
export { isFinalChangeStatus } from "./client/change-status.ts";
export { fieldViolations } from "./client/field-violations.ts";
export { changeKindName, changeStatusName, plainJson, resourceStatusName } from "./client/plain-json.ts";
export type { FieldViolation } from "./client/field-violations.ts";
export { Code, ConnectError } from "@connectrpc/connect";

export * from "./gen/plinth/v1/change_pb.ts";
export * from "./gen/plinth/v1/change_service_pb.ts";
export * from "./gen/plinth/v1/identity_service_pb.ts";
export * from "./gen/plinth/v1/import_service_pb.ts";
export * from "./gen/plinth/v1/change_set_service_pb.ts";
export * from "./gen/plinth/v1/plugin_service_pb.ts";
export * from "./gen/plinth/v1/resource_pb.ts";
export * from "./gen/plinth/v1/resource_service_pb.ts";
export * from "./gen/plinth/v1/notification_pb.ts";
export * from "./gen/plinth/v1/notification_service_pb.ts";
export * from "./gen/google/rpc/error_details_pb.ts";
