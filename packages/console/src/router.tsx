import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useState } from "react";

/** Where the page is: the server answers every client route with index.html, so plain paths work. */
export type Route =
  | { page: "home"; query: URLSearchParams }
  | { page: "queue"; query: URLSearchParams }
  | { page: "change"; id: string }
  | { page: "changeSet"; id: string }
  | { page: "resource"; type: string; name: string }
  | { page: "resources"; query: URLSearchParams }
  | { page: "access" }
  | { page: "team"; team: string }
  | { page: "missing" };

export function parseRoute(location: Location): Route {
  const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(location.search);
  // The landing page: the overview for reviewers and admins, the queue for everyone else (the page decides).
  if (parts.length === 0) return { page: "home", query };
  if (parts[0] === "queue" && parts.length === 1) return { page: "queue", query };
  if (parts[0] === "changes" && parts.length === 2) return { page: "change", id: parts[1] ?? "" };
  if (parts[0] === "change-sets" && parts.length === 2) return { page: "changeSet", id: parts[1] ?? "" };
  if (parts[0] === "resources" && parts.length === 1) return { page: "resources", query };
  if (parts[0] === "access" && parts.length === 1) return { page: "access" };
  if (parts[0] === "teams" && parts.length === 2) return { page: "team", team: parts[1] ?? "" };
  if (parts[0] === "resources" && parts.length === 3)
    return { page: "resource", type: parts[1] ?? "", name: parts[2] ?? "" };
  return { page: "missing" };
}

export const changeHref = (id: string): string => `/changes/${encodeURIComponent(id)}`;
export const changeSetHref = (id: string): string => `/change-sets/${encodeURIComponent(id)}`;
export const resourceHref = (type: string, name: string): string =>
  `/resources/${encodeURIComponent(type)}/${encodeURIComponent(name)}`;

export const teamHref = (team: string): string => `/teams/${encodeURIComponent(team)}`;

const listeners = new Set<() => void>();

export function navigate(href: string, replace = false): void {
  if (replace) window.history.replaceState(null, "", href);
  else window.history.pushState(null, "", href);
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location));
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}

/** An ordinary link (keyboard, middle-click, copy address all work) that navigates without a reload. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}
