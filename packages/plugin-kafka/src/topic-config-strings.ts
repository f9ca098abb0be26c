import type { TopicConfig } from "./topic-spec.ts";

/** Kafka takes (and reports) every topic config as a string. */
export function topicConfigStrings(config: TopicConfig | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, String(value)]),
  );
}
