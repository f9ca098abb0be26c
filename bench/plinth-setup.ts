// What every benchmark of the real Plinth service runs with: its config and an
// engine that does nothing (plinth-server.ts, submit-path.ts).
import { join } from "node:path";
import { type Engine, sha256Hex } from "@plinth/core";
import { benchPrincipal } from "./common.ts";

/** Succeeds at once with a tiny output, like a provider with nothing to do. */
export const noopEngine: Engine = {
  apply: async (request) => ({ outputs: { name: request.name }, secretOutputs: {} }),
  destroy: async () => {},
  preview: async () => ({ steps: {}, destructive: false, details: {} }),
  close: async () => {},
};

/** The identity-provider service the JWT targets call as (apply-get.ts --jwt): a requester of the bench team. */
export const benchJwtService = {
  clientId: "bench-service",
  secret: "bench-service-secret",
  groups: [`plinth-${benchPrincipal.team}-requesters`],
};

/**
 * Durable SQLite (synchronous FULL), one requester principal, the widget
 * plugin; worker settings left at their defaults. With `oidcIssuer`, JWTs of
 * that issuer are accepted too (audience "plinth", groups to teams as in the
 * development provider's rules), beside the static token.
 */
export function benchConfig(dataDir: string, oidcIssuer?: string) {
  const { token, ...principal } = benchPrincipal;
  return {
    ...(oidcIssuer
      ? {
          oidc: {
            issuers: [
              {
                issuer: oidcIssuer,
                audience: "plinth",
                rules: [{ group: "plinth-{team}-requesters", roles: ["requester"] }],
              },
            ],
          },
        }
      : {}),
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    store: { sqlite: { synchronous: "FULL" } },
    engine: { passphrase: "bench-passphrase" },
    secrets: { key: "bench-secret-key-0123456789" },
    principals: [{ ...principal, roles: [...principal.roles], tokenSha256: sha256Hex(token) }],
    // worker: production defaults (concurrency 2, lease 30 s, poll 1 s).
    plugins: [{ module: join(import.meta.dirname, "widget-plugin.ts"), export: "widgetPlugin" }],
  };
}
