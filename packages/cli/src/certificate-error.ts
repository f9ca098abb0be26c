/**
 * The TLS verification failure behind `error`, if that is what it is: Node's code for it
 * (`SELF_SIGNED_CERT_IN_CHAIN`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`...) and its
 * message. Connect reports these as INTERNAL, which tells a user nothing about what to fix.
 */
export function certificateError(error: unknown): { code: string; message: string } | undefined {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (typeof code === "string" && tlsVerificationCode.test(code)) return { code, message: cause.message };
  }
  return undefined;
}

// OpenSSL's X509_V_ERR_* names as Node gives them, and Node's own host name check.
const tlsVerificationCode = /CERT|SELF_SIGNED|^UNABLE_TO_(GET|VERIFY|DECRYPT)|^HOSTNAME_MISMATCH$/;
