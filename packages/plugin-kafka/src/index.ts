export {
  ClusterSettings,
  KafkaSettings,
  type KafkaSettingsInput,
  kafkaDefaultMaxMessageBytes,
} from "./cluster-settings.ts";
export { kafkaTopic } from "./kafka-topic.ts";
export { kafkaUser } from "./kafka-user.ts";
export { type ClusterTopic, listClusterTopics } from "./list-cluster-topics.ts";
export { type PartitionSuggestion, suggestPartitions } from "./partition-formula.ts";
export { resolveTopicDefaults } from "./topic-defaults.ts";
export { guardrailViolations, isGuardrailReason, managedConfigKeys } from "./topic-guardrails.ts";
export {
  type TopicConflict,
  findTopicConflict,
  maxTopicNameLength,
  topicCollisionKey,
  topicNameViolations,
  topicNamesCollide,
} from "./topic-name.ts";
export { topicConfigStrings } from "./topic-config-strings.ts";
export { topicProgram } from "./topic-program.ts";
export { type ReviewFinding, reviewTopic, topicReviewFindings, topicReviewPolicy } from "./topic-review.ts";
export {
  Throughput,
  TopicConfig,
  type TopicConfigKey,
  TopicSpec,
  type TopicSpecInput,
  topicConfigKeys,
} from "./topic-spec.ts";
export { validateTopic } from "./topic-validate.ts";
export { verifyTopic, verifyTopicGone } from "./topic-verify.ts";
export { type UserAcl, aclKey, describeAcl, userAcls, userPrincipal } from "./user-acls.ts";
export { resolveUserDefaults } from "./user-defaults.ts";
export { userReaches } from "./user-reaches.ts";
export { declaredRetentionBytes, topicQuotaMetrics, topicUsage } from "./topic-usage.ts";
export { reviewUser, userReviewFindings, userReviewPolicy } from "./user-review.ts";
export {
  ResourceScope,
  UserGrant,
  UserSpec,
  type UserSpecInput,
  userScramIterations,
  userScramMechanism,
} from "./user-spec.ts";
export { userGuardrailViolations, validateUser } from "./user-validate.ts";
export { findUnmanagedUser, listScramUsers, verifyUser, verifyUserGone } from "./user-verify.ts";
export { type ScramCredentialInfo, describeScramUsers } from "./scram-users.ts";
export type {} from "./resource-types.ts";
export { kafkaSchema } from "./kafka-schema.ts";
export { RegistrySettings, SchemaSettings, type SchemaSettingsInput } from "./schema-settings.ts";
export {
  SchemaReference,
  SchemaSpec,
  type SchemaSpecInput,
  compatibilityLevels,
  resolveSchemaDefaults,
  schemaFormats,
  subjectOf,
} from "./schema-spec.ts";
export { describeSchemaChange, incompatibilityCauses, incompatibilityViolations } from "./schema-changes.ts";
export { type RegistryClient, RegistryError, registryClient } from "./schema-registry-client.ts";
