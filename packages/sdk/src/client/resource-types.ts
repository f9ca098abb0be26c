/**
 * The spec type of each resource type, keyed by plugin type. Empty here:
 * each plugin package adds its own entry by declaration merging, so
 * `client.apply("kafka.topic", name, spec)` checks `spec` at compile time:
 *
 * ```ts
 * declare module "@plinth/sdk" {
 *   interface ResourceTypes {
 *     "kafka.topic": TopicSpec;
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty on purpose: plugins fill it by declaration merging.
export interface ResourceTypes {}

/**
 * A resource type name: the augmented ones are suggested by editors, and any
 * other string is still accepted (`string & {}` keeps the literal union from
 * collapsing into plain `string`), because the server may know plugins this
 * program was not compiled against.
 */
export type ResourceType = keyof ResourceTypes | (string & {});

/**
 * The spec of resource type `T`: its augmented spec type when a plugin
 * declared one, otherwise any JSON object.
 */
export type SpecOf<T extends string> = T extends keyof ResourceTypes ? ResourceTypes[T] : Record<string, unknown>;
