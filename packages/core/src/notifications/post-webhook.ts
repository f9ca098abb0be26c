import type { LookupAddress } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import type { TargetPolicy } from "./target-policy.ts";

/**
 * A `lookup` that answers with addresses already checked, so the socket
 * connects to exactly what the policy allowed: a second DNS answer (a
 * rebinding one) is never asked for.
 */
function checkedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
    if (usable.length === 0) {
      const error: NodeJS.ErrnoException = new Error("no checked address of the family asked for");
      error.code = "ENOTFOUND";
      callback(error, "", 0);
      return;
    }
    if (options.all) (callback as (e: null, a: LookupAddress[]) => void)(null, usable);
    else callback(null, usable[0]!.address, usable[0]!.family);
  };
}

/**
 * POSTs one webhook to `url` after the target policy checked (and resolved)
 * its host, and returns the receiver's status code. A redirect is an answer
 * like any other: following it would send the event somewhere unchecked.
 * Throws TargetRefusedError, a timeout (AbortSignal) or a network error.
 */
export async function postWebhook(
  targets: TargetPolicy,
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<number> {
  const addresses = await targets.addresses(url);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return await new Promise<number>((resolve, reject) => {
    const request = send(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        lookup: checkedLookup(addresses),
        signal,
        // Its own connection each time: a pooled socket could outlive the check it was opened under.
        agent: false,
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}
