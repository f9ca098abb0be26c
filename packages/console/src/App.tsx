import { type FormEvent, useEffect, useState } from "react";
import { createApi, forgetToken, storeToken, storedToken } from "./api.ts";
import { describeError } from "./errors.ts";
import { ChangePage } from "./pages/ChangePage.tsx";
import { QueuePage, prefetchQueue } from "./pages/QueuePage.tsx";
import { ResourcePage } from "./pages/ResourcePage.tsx";
import { ResourcesPage } from "./pages/ResourcesPage.tsx";
import { Link, parseRoute, useRoute } from "./router.tsx";
import { type Session, SessionContext } from "./session.tsx";

async function signIn(token: string, api = createApi(token)): Promise<Session> {
  const me = await api.identity.whoAmI({});
  return { api, me: { id: me.id, team: me.team, roles: me.roles } };
}

function SignIn({ onSignedIn, initialError }: { onSignedIn: (s: Session) => void; initialError?: string }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(initialError);
  const [busy, setBusy] = useState(false);
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
        <Link href="/">Review queue</Link>
        <Link href="/resources">Resources</Link>
      </nav>
      <div className="whoami" aria-label="Signed in">
        <span>
          Signed in as <strong data-testid="me">{me.id}</strong> · team {me.team} · roles{" "}
          <span data-testid="roles">{me.roles.join(", ")}</span>
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
  useEffect(() => {
    // Move focus to the new page's heading so keyboard and screen-reader users land on it.
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route]);
  switch (route.page) {
    case "queue":
      return <QueuePage query={route.query} />;
    case "change":
      return <ChangePage id={route.id} />;
    case "resource":
      return <ResourcePage type={route.type} name={route.name} />;
    case "resources":
      return <ResourcesPage query={route.query} />;
    default:
      return (
        <main>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            There is no such page. <Link href="/">Go to the review queue.</Link>
          </p>
        </main>
      );
  }
}

export function App() {
  const [session, setSession] = useState<Session>();
  const [restoring, setRestoring] = useState(() => storedToken() !== null);
  const [error, setError] = useState<string>();
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
  if (!session) return <SignIn onSignedIn={setSession} initialError={error} />;
  const signOut = () => {
    forgetToken();
    setSession(undefined);
    setError(undefined);
  };
  return (
    <SessionContext.Provider value={session}>
      <Header session={session} onSignOut={signOut} />
      <Page />
    </SessionContext.Provider>
  );
}
