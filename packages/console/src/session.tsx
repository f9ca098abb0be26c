import { createContext, useContext } from "react";
import type { Api } from "./api.ts";

/** Who is signed in: the API clients carrying their token and what WhoAmI said about them. */
export interface Session {
  api: Api;
  me: {
    id: string;
    team: string;
    roles: string[];
    /** Every team the caller may act for, with its roles there. */
    teams: { team: string; roles: string[] }[];
    /** Set when signed in through an identity provider. */
    issuer: string;
  };
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

export const hasRole = (me: Session["me"], role: "requester" | "reviewer" | "admin"): boolean =>
  me.roles.includes(role) || me.roles.includes("admin");
