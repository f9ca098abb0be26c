export { freePort } from "./free-port.ts";
export {
  approveAuthorization,
  approveDeviceCode,
  devIdpRules,
  devIdpScript,
  devIdpUsers,
  startDevIdp,
  type DevIdp,
  type DevService,
  type DevUser,
  type DevUsersFile,
  type StartDevIdpOptions,
  type TokenResponse,
} from "./dev-idp.ts";
export {
  formattedWithoutScram,
  startKafka,
  type KafkaBroker,
  type KafkaSuperUser,
  type StartKafkaOptions,
} from "./kafka.ts";
export { produce } from "./kafka-produce.ts";
export {
  startPrometheus,
  type PrometheusSample,
  type PrometheusServer,
  type ScrapeTarget,
  type StartPrometheusOptions,
} from "./prometheus.ts";
export { startSchemaRegistry, type SchemaRegistry, type StartSchemaRegistryOptions } from "./schema-registry.ts";
export { startPostgres, type PostgresServer, type StartPostgresOptions } from "./postgres.ts";
export {
  MissingToolError,
  apicurioRunnerJar,
  cacheDir,
  promtoolBinary,
  pulumiBinDir,
  postgresBinDir,
  pulumiEnv,
  repoRoot,
  toolchainVersions,
} from "./toolchain.ts";
export { waitFor, type WaitForOptions } from "./wait-for.ts";
export type * from "./contract/types.ts";
export { createTestService, defaultPrincipals } from "./contract/create-test-service.ts";
export { runProgram } from "./contract/run-program.ts";
export { describePluginContract } from "./contract/describe-plugin-contract.ts";
