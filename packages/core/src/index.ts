export * from "./domain/types.ts";
export * from "./domain/errors.ts";
export * from "./plugin/define-plugin.ts";
export * from "./engine/engine.ts";
export {
  createPulumiEngine,
  type EngineLogger,
  type PulumiEngineOptions,
} from "./engine/pulumi/create-pulumi-engine.ts";
export type { EngineChildEvent } from "./engine/pulumi/create-child-pool.ts";
export {
  parseServiceConfig,
  loadServiceConfig,
  ConfigError,
  type LoadedConfig,
  type ServiceConfig,
} from "./config/service-config.ts";
export { startPlinthService, type PlinthService, type StartOptions } from "./server/plinth-service.ts";
export type { ResolveHost } from "./notifications/target-policy.ts";
export { sha256Hex } from "./server/auth.ts";
export { createLogger, type Logger } from "./observability/logger.ts";
