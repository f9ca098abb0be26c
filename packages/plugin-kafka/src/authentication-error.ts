/**
 * Whether `error` is a refused SASL login, however the client wraps it (a
 * connection error whose cause it is, or one of several). scram-credential.ts
 * has its own copy: its functions are serialized into Pulumi's state and
 * must not reach into other modules.
 */
export function isAuthenticationError(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if ((cause as { code?: unknown }).code === "PLT_KFK_AUTHENTICATION") return true;
    const inner = (cause as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner.some(isAuthenticationError)) return true;
  }
  return false;
}
