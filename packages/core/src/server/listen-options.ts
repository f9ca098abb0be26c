import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, type LoadedConfig } from "../config/service-config.ts";
import type { Logger } from "../observability/logger.ts";
import { isLoopback } from "./guard-request.ts";
import type { ListenOptions } from "./http-server.ts";

function readPem(baseDir: string, file: string, what: string): Buffer {
  try {
    return readFileSync(resolve(baseDir, file));
  } catch (error) {
    throw new ConfigError(
      `listen.tls.${what}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * What `listen` needs from the config: the TLS files read once at start, and
 * a warning for each exposure an operator should know about: plaintext (bearer
 * tokens in the clear) or an open /metrics on an address other machines reach.
 */
export function listenOptions(loaded: LoadedConfig, logger: Logger): ListenOptions {
  const { listen, metrics } = loaded.config;
  const tls = listen.tls && {
    cert: readPem(loaded.baseDir, listen.tls.certFile, "certFile"),
    key: readPem(loaded.baseDir, listen.tls.keyFile, "keyFile"),
  };
  if (!isLoopback(listen.host)) {
    if (!tls) {
      logger.warn(
        { host: listen.host },
        "serving a non-loopback address WITHOUT TLS: bearer tokens and revealed secrets cross the network in the clear; set listen.tls or put a TLS proxy in front",
      );
    }
    if (!metrics.tokenSha256) {
      logger.warn(
        { host: listen.host },
        "/metrics is open to anyone who reaches this address; set metrics.tokenSha256",
      );
    }
  }
  return { host: listen.host, port: listen.port, limits: listen.limits, ...(tls && { tls }) };
}
