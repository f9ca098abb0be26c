import type { Store } from "../store/store.ts";

/** What the probes use of a Node HTTP/1.1 or HTTP/2 request and response. */
interface ProbeRequest {
  url?: string;
}
interface ProbeResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

/** Where the server is in its life, for /readyz. */
export type ServicePhase = "starting" | "serving" | "stopping";

export interface HealthSources {
  store: Pick<Store, "refusal">;
  phase: () => ServicePhase;
}

function answer(res: ProbeResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain", "cache-control": "no-store" });
  res.end(`${body}\n`);
}

/**
 * Answers the two probes and returns true, or returns false for any other
 * path. `/healthz` (liveness) is 503 only when restarting the process is the
 * cure: the store refuses all further work (e.g. a failed sync). `/readyz`
 * (readiness) is 200 while the server takes requests and works them off, and
 * 503 while it starts, drains and stops, or while the store refuses. The
 * reason is the body, for whoever reads the probe's log.
 */
export function answerHealth(req: ProbeRequest, res: ProbeResponse, sources: HealthSources): boolean {
  const path = (req.url ?? "").split("?")[0];
  if (path !== "/healthz" && path !== "/readyz") return false;
  const refusal = sources.store.refusal();
  if (path === "/healthz") {
    if (refusal) answer(res, 503, `unhealthy: ${refusal}`);
    else answer(res, 200, "ok");
    return true;
  }
  const phase = sources.phase();
  if (refusal) answer(res, 503, `not ready: ${refusal}`);
  else if (phase === "starting") answer(res, 503, "not ready: starting");
  else if (phase === "stopping") answer(res, 503, "not ready: shutting down");
  else answer(res, 200, "ready");
  return true;
}
