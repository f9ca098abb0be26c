import { CloudEvent, HTTP } from "cloudevents";
import type { JsonObject } from "../domain/types.ts";

/**
 * Slack's control characters: `<!channel>`, `<@U123>` and `<url|label>` in a
 * review comment or a resource name must reach the channel as text, not as a
 * mention or a disguised link.
 */
export const slackEscape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The HTTP body and content type of one delivery, in the subscription's format. */
export function renderWebhook(
  format: "cloudevents" | "slack",
  event: JsonObject,
): { body: string; contentType: string } {
  if (format === "slack") {
    const data = (event.data ?? {}) as { message?: string; url?: string };
    // Slack's incoming webhooks (and Mattermost's, and Teams' Slack-compatible ones) take `text` with <url|label> links.
    const link = data.url ? ` <${slackEscape(data.url)}|open in the Plinth console>` : "";
    return {
      body: JSON.stringify({ text: `${slackEscape(data.message ?? String(event.type))}.${link}` }),
      contentType: "application/json",
    };
  }
  // Structured mode: the whole event is the body, as the CloudEvents HTTP binding defines it.
  const message = HTTP.structured(new CloudEvent(event));
  return {
    body: String(message.body),
    contentType: String(message.headers["content-type"] ?? "application/cloudevents+json; charset=utf-8"),
  };
}
