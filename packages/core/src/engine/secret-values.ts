/** Keys whose string values are secrets in a plugin's settings: admin and SASL passwords, TLS keys, tokens. */
const secretKey = /(password|passphrase|secret|token|credentials?|key)$/i;
/** Keys naming an environment variable that holds a secret (`passwordEnv`): its value is a secret too. */
const secretEnvKey = /(password|passphrase|secret|token|key)Env$/i;

/**
 * Every secret value in `value` (a plugin's settings, plain JSON), by key
 * name, for scrubbing from messages: a provider that echoes its admin
 * password in an error must not put it in a change's events or last_error.
 * Errs on the side of scrubbing: a non-secret under such a key only makes a
 * message less precise. Pure apart from reading `env`.
 */
export function secretValuesIn(value: unknown, env: NodeJS.ProcessEnv = process.env): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, key: string | undefined) => {
    if (typeof node === "string") {
      if (key && secretEnvKey.test(key)) {
        const fromEnv = env[node];
        if (fromEnv) found.add(fromEnv);
      } else if (key && secretKey.test(key)) found.add(node);
      return;
    }
    if (Array.isArray(node)) for (const item of node) visit(item, key);
    else if (node && typeof node === "object") {
      for (const [name, item] of Object.entries(node)) visit(item, name);
    }
  };
  visit(value, undefined);
  return [...found];
}
