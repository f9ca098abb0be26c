/** The identity provider the server names for the console (`console.signIn` in its config). */
export interface ProviderSignIn {
  issuer: string;
  clientId: string;
  scope: string;
}

interface Pending {
  verifier: string;
  state: string;
  returnTo: string;
}

const pendingKey = "plinth.signin";
/** The ID token of this tab's sign-in: the provider needs it to end that session (RP-initiated logout). */
const idTokenKey = "plinth.idtoken";

const base64url = (bytes: ArrayBuffer | Uint8Array): string =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const random = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

/** The provider of this server, or undefined when it has none (then only tokens sign in). */
export async function providerSignIn(): Promise<ProviderSignIn | undefined> {
  const res = await fetch("/console-sign-in.json");
  return res.ok ? ((await res.json()) as ProviderSignIn) : undefined;
}

interface Endpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

async function endpoints(issuer: string): Promise<Endpoints> {
  const res = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`the identity provider ${issuer} did not answer (${res.status})`);
  return (await res.json()) as Endpoints;
}

const redirectUri = () => `${window.location.origin}/`;

/** Leaves for the provider's sign-in page: the authorization code flow with PKCE (S256) and a state. */
export async function startProviderSignIn(provider: ProviderSignIn): Promise<void> {
  const { authorization_endpoint } = await endpoints(provider.issuer);
  const verifier = random();
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const pending: Pending = {
    verifier,
    state: random(),
    returnTo: window.location.pathname + window.location.search,
  };
  sessionStorage.setItem(pendingKey, JSON.stringify(pending));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: provider.clientId,
    redirect_uri: redirectUri(),
    scope: provider.scope,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: pending.state,
  }).toString();
  window.location.assign(url.toString());
}

/**
 * Back from the provider (`?code=…&state=…`): checks the state, trades the
 * code and the PKCE verifier for the access token, and puts the address the
 * sign-in started from back. Undefined when this page load is no such return.
 */
export async function finishProviderSignIn(provider: ProviderSignIn): Promise<string | undefined> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  const error = params.get("error");
  if (!code && !error) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(pendingKey) ?? "null") as Pending | null;
  sessionStorage.removeItem(pendingKey);
  window.history.replaceState(null, "", pending?.returnTo ?? "/");
  if (error) throw new Error(`the identity provider refused: ${params.get("error_description") ?? error}`);
  if (!pending || pending.state !== params.get("state")) {
    throw new Error("this sign-in was not started here (state mismatch): sign in again");
  }
  const { token_endpoint } = await endpoints(provider.issuer);
  const res = await fetch(token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: code!,
      redirect_uri: redirectUri(),
      client_id: provider.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await res.json()) as {
    access_token?: string;
    id_token?: string;
    error_description?: string;
    error?: string;
  };
  if (!res.ok || !body.access_token) {
    throw new Error(`signing in failed: ${body.error_description ?? body.error ?? res.status}`);
  }
  if (body.id_token) sessionStorage.setItem(idTokenKey, body.id_token);
  else sessionStorage.removeItem(idTokenKey);
  return body.access_token;
}

/**
 * Signs out at the provider too (OpenID Connect RP-initiated logout): leaves
 * for its `end_session_endpoint`, which ends the person's session there and
 * sends the browser back to the console. Otherwise the next "Sign in with
 * your organisation" would sign the same person straight back in, on a
 * shared computer too. False when the provider has no such endpoint: then
 * only this tab forgets the token.
 */
export async function providerSignOut(provider: ProviderSignIn): Promise<boolean> {
  const idToken = sessionStorage.getItem(idTokenKey);
  sessionStorage.removeItem(idTokenKey);
  const { end_session_endpoint } = await endpoints(provider.issuer);
  if (!end_session_endpoint) return false;
  const url = new URL(end_session_endpoint);
  url.searchParams.set("client_id", provider.clientId);
  url.searchParams.set("post_logout_redirect_uri", redirectUri());
  if (idToken) url.searchParams.set("id_token_hint", idToken);
  window.location.assign(url.toString());
  return true;
}
