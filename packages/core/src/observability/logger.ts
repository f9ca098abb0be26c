import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/**
 * Structured JSON logs. Anything that looks like a credential is redacted
 * by path, so a careless field cannot leak a token or a password.
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.PLINTH_LOG_LEVEL ?? "info",
      base: { service: "plinth" },
      redact: {
        paths: [
          "token",
          "*.token",
          "password",
          "*.password",
          "passphrase",
          "*.passphrase",
          "authorization",
          "*.authorization",
          "headers.authorization",
          "secretOutputs",
          "*.secretOutputs",
        ],
        censor: "[redacted]",
      },
    },
    options.destination ?? process.stderr,
  );
}
