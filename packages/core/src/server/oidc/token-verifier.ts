import { type JWTPayload, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as jose, jwtVerify } from "jose";
import type { OidcIssuerConfig } from "../../config/service-config.ts";
import { UnauthenticatedError, UnavailableError } from "../../domain/errors.ts";
import type { Principal } from "../../domain/types.ts";
import { createClaimsMapper } from "./map-claims.ts";

/** A principal from a verified token, and when that token stops being valid (epoch ms, skew included). */
export interface VerifiedToken {
  principal: Principal;
  validUntil: number;
}

/** Whether a bearer token has the shape of a JWS (three base64url parts): only those go to the verifier. */
export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]*\.[\w-]*$/.test(token);

interface Issuer {
  config: OidcIssuerConfig;
  keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  toPrincipal: (claims: JWTPayload) => Principal;
}

const fetchTimeoutMs = 5_000;

/** The issuer's key set, from its discovery document (whose `issuer` must be the configured one). */
async function discoverKeys(config: OidcIssuerConfig): Promise<ReturnType<typeof createRemoteJWKSet>> {
  const url = config.discoveryUrl ?? `${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  let document: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(fetchTimeoutMs), redirect: "error" });
    if (!res.ok) throw new Error(`answered ${res.status}`);
    document = (await res.json()) as typeof document;
  } catch (error) {
    throw new UnavailableError(
      `cannot read the discovery document of issuer ${config.issuer} (${url}): ${(error as Error).message}`,
    );
  }
  if (document.issuer !== config.issuer) {
    throw new UnavailableError(
      `the discovery document at ${url} names issuer ${String(document.issuer)}, not ${config.issuer}: check oidc.issuers`,
    );
  }
  if (typeof document.jwks_uri !== "string" || !URL.canParse(document.jwks_uri)) {
    throw new UnavailableError(`the discovery document of issuer ${config.issuer} has no jwks_uri`);
  }
  return createRemoteJWKSet(new URL(document.jwks_uri), {
    cooldownDuration: config.jwksCooldownSeconds * 1000,
    cacheMaxAge: config.jwksMaxAgeSeconds * 1000,
    timeoutDuration: fetchTimeoutMs,
  });
}

/** Why a token was refused, in words that name the check and never quote the token. */
function refusal(error: unknown, config: OidcIssuerConfig): Error {
  if (error instanceof jose.JWTExpired) return new UnauthenticatedError("token expired: sign in again");
  if (error instanceof jose.JWTClaimValidationFailed) {
    if (error.claim === "aud") {
      return new UnauthenticatedError(
        `wrong audience: the token is not for this service (expected ${[config.audience].flat().join(" or ")})`,
      );
    }
    if (error.claim === "iss") return new UnauthenticatedError("unknown issuer");
    if (error.claim === "nbf") return new UnauthenticatedError("token not yet valid (nbf is in the future)");
    if (error.claim === "iat") return new UnauthenticatedError("token issued in the future (iat)");
    return new UnauthenticatedError(`token claim ${error.claim} failed its check (${error.reason})`);
  }
  if (error instanceof jose.JOSEAlgNotAllowed) {
    return new UnauthenticatedError(`algorithm not allowed: accepted are ${config.algorithms.join(", ")}`);
  }
  if (error instanceof jose.JWSSignatureVerificationFailed) return new UnauthenticatedError("bad signature");
  if (error instanceof jose.JWKSNoMatchingKey) {
    return new UnauthenticatedError(`bad signature: no key of issuer ${config.issuer} matches the token's kid`);
  }
  if (error instanceof jose.JWKSTimeout) return new UnavailableError(`the key set of ${config.issuer} timed out`);
  if (error instanceof jose.JOSEError) return new UnauthenticatedError(`malformed token (${error.code})`);
  // Anything else comes from fetching the keys (the provider down or answering nonsense): worth a retry.
  return new UnavailableError(
    `cannot check the token against the keys of ${config.issuer}: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/**
 * Verifies identity-provider tokens (JWTs): the issuer must be configured;
 * its keys come from its discovery document and are cached, a token signed
 * with an unknown `kid` refetches them (at most once per cooldown); the
 * signature algorithm must be on the issuer's asymmetric allowlist; audience,
 * expiry and not-before are checked with the issuer's clock-skew allowance.
 * Every refusal is an UnauthenticatedError naming the failed check.
 */
export function createTokenVerifier(configs: readonly OidcIssuerConfig[]): (token: string) => Promise<VerifiedToken> {
  const issuers = new Map<string, Issuer>(
    configs.map((config) => [config.issuer, { config, keys: undefined, toPrincipal: createClaimsMapper(config) }]),
  );
  return async (token) => {
    let claims: JWTPayload;
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      claims = decodeJwt(token);
    } catch {
      throw new UnauthenticatedError("malformed token: not a JWT");
    }
    const issuer = typeof claims.iss === "string" ? issuers.get(claims.iss) : undefined;
    if (!issuer) throw new UnauthenticatedError("unknown issuer: the token's iss is not a trusted issuer");
    const { config } = issuer;
    // Checked here too so that the reason is plain even before any key is fetched.
    if (typeof alg !== "string" || !(config.algorithms as readonly string[]).includes(alg)) {
      throw new UnauthenticatedError(`algorithm not allowed: accepted are ${config.algorithms.join(", ")}`);
    }
    issuer.keys ??= discoverKeys(config).catch((error: unknown) => {
      issuer.keys = undefined; // the next request tries again
      throw error;
    });
    const keys = await issuer.keys;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: [...config.algorithms],
        clockTolerance: config.clockSkewSeconds,
        requiredClaims: ["exp"],
      }));
    } catch (error) {
      throw refusal(error, config);
    }
    return {
      principal: issuer.toPrincipal(payload),
      validUntil: ((payload.exp as number) + config.clockSkewSeconds) * 1000,
    };
  };
}
