import type { SchemaReference } from "./schema-spec.ts";

const contentType = "application/vnd.schemaregistry.v1+json";

/** An answer of the registry other than success, with its error code (e.g. 40401: subject not found). */
export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(
    readonly status: number,
    readonly errorCode: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** 40401 subject not found, 40402 version not found: nothing registered (or soft-deleted). */
export const isNotFound = (error: unknown): boolean =>
  error instanceof RegistryError && (error.errorCode === 40401 || error.errorCode === 40402 || error.status === 404);

/** A registered version as the registry returns it. */
export interface RegisteredVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
  schemaType?: string;
  references?: SchemaReference[];
}

export interface CompatibilityAnswer {
  is_compatible: boolean;
  /** Apicurio's verbose form: one string with every cause. */
  reason?: string | null;
  /** Confluent's verbose form: one message per cause. */
  messages?: string[];
}

/** Calls one registry's Confluent-compatible REST API, each call bounded in time. */
export function registryClient(url: string, timeoutMs = 10_000) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? { accept: contentType } : { accept: contentType, "content-type": contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const error = (parsed ?? {}) as { error_code?: number; message?: string };
      throw new RegistryError(
        response.status,
        error.error_code,
        `schema registry answered ${response.status} to ${method} ${path}: ${error.message ?? text}`,
      );
    }
    return parsed as T;
  }
  const subjectPath = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;
  return {
    /** Every live (not soft-deleted) subject: one request. */
    subjects: () => call<string[]>("GET", "/subjects"),
    latest: (subject: string) => call<RegisteredVersion>("GET", `${subjectPath(subject)}/versions/latest`),
    versions: (subject: string) => call<number[]>("GET", `${subjectPath(subject)}/versions`),
    compatibilityLevel: async (subject: string) =>
      (await call<{ compatibilityLevel: string }>("GET", `/config/${encodeURIComponent(subject)}`)).compatibilityLevel,
    /** The registry's own check of `schema` against the subject's latest version, under the subject's level. */
    checkCompatibility: (
      subject: string,
      schema: { schema: string; schemaType: string; references: SchemaReference[] },
    ) =>
      call<CompatibilityAnswer>("POST", `/compatibility${subjectPath(subject)}/versions/latest?verbose=true`, schema),
  };
}
export type RegistryClient = ReturnType<typeof registryClient>;
