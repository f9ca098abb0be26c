export { freePort } from "./free-port.ts";
export { startKafka, type KafkaBroker, type StartKafkaOptions } from "./kafka.ts";
export { startPostgres, type PostgresServer, type StartPostgresOptions } from "./postgres.ts";
export { MissingToolError, cacheDir, pulumiBinDir, pulumiEnv, repoRoot, toolchainVersions } from "./toolchain.ts";
export { waitFor, type WaitForOptions } from "./wait-for.ts";
export type * from "./contract/types.ts";
