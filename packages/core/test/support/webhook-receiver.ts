import { createHmac, timingSafeEqual } from "node:crypto";
import { type IncomingHttpHeaders, type Server, type ServerResponse, createServer } from "node:http";

/** One request the receiver got, as it came over the wire. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed JSON body (a CloudEvent, or Slack's {text}). */
  json: Record<string, unknown>;
  /** Date.now() when it arrived. */
  at: number;
}

/** What the receiver answers: a status code, or "hang" to hold the request open and never answer. */
export type ReceiverAnswer = number | "hang";

/**
 * A real HTTP receiver on loopback for webhook tests: it records every
 * request and answers as `answer` says. `stop` and `start` (on the same port)
 * play a receiver that is down for a while.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: (request: ReceivedWebhook) => ReceiverAnswer = () => 204;
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();

  constructor(readonly port: number) {}

  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const request: ReceivedWebhook = {
          path: req.url ?? "",
          headers: req.headers,
          body,
          json: JSON.parse(body) as Record<string, unknown>,
          at: Date.now(),
        };
        this.received.push(request);
        const answer = this.answer(request);
        if (answer === "hang") {
          this.hanging.add(res);
          return;
        }
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", resolve);
    });
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Requests for one path, e.g. one subscription's. */
  at(path: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path);
  }
}

/**
 * Checks a `plinth-signature` header the way docs/notifications.md tells
 * receivers to, written here from the docs rather than imported from the
 * server, so a server that signs the wrong bytes fails.
 */
export function signatureVerifies(secret: string, webhook: ReceivedWebhook): boolean {
  const header = String(webhook.headers["plinth-signature"] ?? "");
  const fields = Object.fromEntries(header.split(",").map((part) => part.split("=", 2)));
  const t = fields.t ?? "";
  const given = Buffer.from(fields.v1 ?? "", "hex");
  const expected = createHmac("sha256", secret).update(`${t}.${webhook.body}`).digest();
  const fresh = Math.abs(Date.now() / 1000 - Number(t)) < 300;
  return fresh && given.length === expected.length && timingSafeEqual(given, expected);
}

/** The CloudEvent's `data`, typed loosely for assertions. */
export const eventData = (webhook: ReceivedWebhook) =>
  webhook.json.data as {
    kind: string;
    message: string;
    url: string;
    change: { id: string; status: string } | null;
  } & Record<string, unknown>;
