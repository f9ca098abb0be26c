import { type FormEvent, useEffect, useState } from "react";
import { createApi, forgetToken, storeToken, storedToken } from "./api.ts";
import {
  type ProviderSignIn,
  finishProviderSignIn,
  providerSignIn,
  providerSignOut,
  startProviderSignIn,
} from "./provider-sign-in.ts";
import { describeError } from "./errors.ts";
import { AccessPage } from "./pages/AccessPage.tsx";
import { ChangePage } from "./pages/ChangePage.tsx";
import { ChangeSetPage } from "./pages/ChangeSetPage.tsx";
import { OverviewPage } from "./pages/OverviewPage.tsx";
import { QueuePage, prefetchQueue } from "./pages/QueuePage.tsx";
import { ResourcePage } from "./pages/ResourcePage.tsx";
import { ResourcesPage } from "./pages/ResourcesPage.tsx";
import { TeamPage } from "./pages/TeamPage.tsx";
import { Link, parseRoute, teamHref, useRoute } from "./router.tsx";
import { type Session, SessionContext, hasRole, useSession } from "./session.tsx";

async function signIn(token: string, api = createApi(token)): Promise<Session> {
  const me = await api.identity.whoAmI({});
  return {
    api,
    me: {
      id: me.id,
      team: me.team,
      roles: me.roles,
      teams: me.teams.map((m) => ({ team: m.team, roles: [...m.roles] })),
      issuer: me.issuer,
    },
  };
}

function SignIn({
  onSignedIn,
  initialError,
  provider,
}: {
  onSignedIn: (s: Session) => void;
  initialError?: string;
  provider?: ProviderSignIn;
}) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(initialError);
  const [busy, setBusy] = useState(false);
  const viaProvider = () => {
    setBusy(true);
    startProviderSignIn(provider!).catch((e: unknown) => {
      setError(describeError(e));
      setBusy(false);
    });
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    signIn(token.trim()).then(
      (session) => {
        storeToken(token.trim());
        onSignedIn(session);
      },
      (e: unknown) => {
        setError(describeError(e));
        setBusy(false);
      },
    );
  };
  return (
    <main className="signin">
      <h1>Plinth reviews</h1>
      {provider && (
        <p>
          <button type="button" onClick={viaProvider} disabled={busy}>
            Sign in with your organisation
          </button>{" "}
          <span className="hint">({new URL(provider.issuer).host})</span>
        </p>
      )}
      <form onSubmit={submit} aria-describedby="signin-help">
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <p id="signin-help" className="hint">
          The same bearer token the plinth CLI uses. It is kept in this tab only (session storage).
        </p>
        <button type="submit" disabled={busy || token.trim() === ""}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p role="alert" className="error">
          {error}
        </p>
      </form>
    </main>
  );
}

function Header({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { me } = session;
  return (
    <header className="top">
      <nav aria-label="Main">
        <Link href="/" className="brand">
          Plinth reviews
        </Link>
        {hasRole(me, "reviewer") && <Link href="/">Overview</Link>}
        <Link href="/queue">Review queue</Link>
        <Link href="/access">Access requests</Link>
        <Link href="/resources">Resources</Link>
        <Link href={teamHref(me.team)}>Team {me.team}</Link>
      </nav>
      <div className="whoami" aria-label="Signed in">
        <span>
          Signed in as <strong data-testid="me">{me.id}</strong>
          {me.issuer && <span className="hint"> ({new URL(me.issuer).host})</span>} · team {me.team} · roles{" "}
          <span data-testid="roles">{me.roles.join(", ")}</span>
          {me.teams.length > 1 && (
            <span data-testid="teams">
              {" "}
              · all teams: {me.teams.map((m) => `${m.team} (${m.roles.join(", ")})`).join("; ")}
            </span>
          )}
        </span>
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function Page() {
  const route = useRoute();
  const { me } = useSession();
  useEffect(() => {
    // Move focus to the new page's heading so keyboard and screen-reader users land on it.
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route]);
  switch (route.page) {
    case "home":
      return hasRole(me, "reviewer") ? <OverviewPage /> : <QueuePage query={route.query} />;
    case "queue":
      return <QueuePage query={route.query} />;
    case "change":
      return <ChangePage id={route.id} />;
    case "changeSet":
      return <ChangeSetPage id={route.id} />;
    case "resource":
      return <ResourcePage type={route.type} name={route.name} />;
    case "resources":
      return <ResourcesPage query={route.query} />;
    case "access":
      return <AccessPage />;
    case "team":
      return <TeamPage team={route.team} />;
    default:
      return (
        <main>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            There is no such page. <Link href="/">Go to the start page.</Link>
          </p>
        </main>
      );
  }
}

export function App() {
  const [session, setSession] = useState<Session>();
  const [restoring, setRestoring] = useState(
    () => storedToken() !== null || /[?&](code|error)=/.test(window.location.search),
  );
  const [error, setError] = useState<string>();
  const [provider, setProvider] = useState<ProviderSignIn>();
  useEffect(() => {
    // A stored token is the other effect's to restore; this one only finishes a return from the provider.
    const hadToken = storedToken() !== null;
    providerSignIn()
      .then(
        async (found) => {
          setProvider(found);
          if (!found) return;
          const token = await finishProviderSignIn(found);
          if (token === undefined) return;
          storeToken(token);
          setSession(await signIn(token));
        },
        () => undefined,
      )
      .catch((e: unknown) => setError(describeError(e)))
      .finally(() => {
        if (!hadToken) setRestoring(false);
      });
  }, []);
  useEffect(() => {
    const token = storedToken();
    if (token === null) return;
    const api = createApi(token);
    const route = parseRoute(window.location);
    if (route.page === "queue") prefetchQueue(api, route.query);
    signIn(token, api)
      .then(setSession, (e: unknown) => {
        forgetToken();
        setError(describeError(e));
      })
      .finally(() => setRestoring(false));
  }, []);
  if (restoring)
    return (
      <p className="loading" role="status">
        Signing in…
      </p>
    );
  if (!session) return <SignIn onSignedIn={setSession} initialError={error} provider={provider} />;
  const signOut = () => {
    forgetToken();
    setSession(undefined);
    setError(undefined);
    // Signed in through the provider: end the session there too (it sends the browser back here).
    if (provider && session.me.issuer === provider.issuer) {
      providerSignOut(provider).catch((e: unknown) =>
        setError(`Signed out here, but not at the identity provider: ${describeError(e)}`),
      );
    }
  };
  return (
    <SessionContext.Provider value={session}>
      <Header session={session} onSignOut={signOut} />
      <Page />
    </SessionContext.Provider>
  );
}
