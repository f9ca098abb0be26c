import type { Violation } from "@plinth/core";

/** Kafka's limit (249: the name must fit a partition directory name with its "-<partition>" suffix). */
export const maxTopicNameLength = 249;
const legalCharacters = /^[a-zA-Z0-9._-]+$/;

/**
 * The key under which Kafka considers two topic names the same: Kafka's
 * metric names turn "." into "_", so `a.b` and `a_b` cannot coexist
 * (`Topic.hasCollision`). Case is NOT folded: Kafka names are case-sensitive
 * and `Orders` and `orders` are two legal, distinct topics.
 */
export function topicCollisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

/** True when two different names would collide in Kafka. */
export function topicNamesCollide(a: string, b: string): boolean {
  return a !== b && topicCollisionKey(a) === topicCollisionKey(b);
}

/** Kafka's rules for a topic name, plus the reserved "__" prefix of internal topics. Field "name". */
export function topicNameViolations(name: string): Violation[] {
  const violation = (reason: string, description: string): Violation[] => [{ field: "name", reason, description }];
  if (name.length === 0 || name.length > maxTopicNameLength) {
    return violation(
      "INVALID_TOPIC_NAME",
      `a topic name has 1 to ${maxTopicNameLength} characters; this one has ${name.length}`,
    );
  }
  if (name === "." || name === "..") {
    return violation("INVALID_TOPIC_NAME", `"${name}" is not a legal topic name`);
  }
  if (!legalCharacters.test(name)) {
    return violation("INVALID_TOPIC_NAME", "a topic name may only contain ASCII letters, digits, '.', '_' and '-'");
  }
  if (name.startsWith("__")) {
    return violation("RESERVED_TOPIC_NAME", "names starting with '__' are reserved for Kafka's internal topics");
  }
  return [];
}

/** What a cluster already holds under a name: the same topic, or a different one that collides with it. */
export type TopicConflict = { kind: "exists"; topic: string } | { kind: "collides"; topic: string };

/**
 * Looks `name` up among a cluster's actual topics (from `listClusterTopics`).
 * Pure: the caller fetched the list.
 */
export function findTopicConflict(name: string, clusterTopics: Iterable<string>): TopicConflict | undefined {
  const key = topicCollisionKey(name);
  let collision: TopicConflict | undefined;
  for (const topic of clusterTopics) {
    if (topic === name) return { kind: "exists", topic };
    if (topicCollisionKey(topic) === key) collision ??= { kind: "collides", topic };
  }
  return collision;
}
