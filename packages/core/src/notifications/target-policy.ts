import { lookup as systemLookup } from "node:dns/promises";
import type { LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";

/** Resolves a host name to every address it has (the shape of `dns.promises.lookup(name, { all: true })`). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: ResolveHost = (hostname) => systemLookup(hostname, { all: true, verbatim: true });

/** A webhook target refused: why, in words an operator can act on (never the resolved address list). */
export class TargetRefusedError extends Error {
  override name = "TargetRefusedError";
}

/**
 * Where a webhook may be sent. Without this, a subscription or a change's
 * callback would make the server POST to whatever its own network reaches:
 * the cloud metadata service (169.254.169.254), an admin port on loopback,
 * a database on the private network. Names are resolved and every address
 * checked; the delivery then connects to exactly the addresses checked, so a
 * name that resolves differently the second time (DNS rebinding) gains nothing.
 */
export interface TargetPolicy {
  /** Refuses (TargetRefusedError) a URL whose host is, or resolves to, a forbidden address. */
  check(url: URL): Promise<void>;
  /** The checked addresses to connect to for `url`'s host: a `lookup` for http.request. */
  addresses(url: URL): Promise<LookupAddress[]>;
}

/** Loopback, link-local, private, shared (CGNAT), unspecified, multicast and reserved ranges, both families. */
function forbiddenRanges(): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of [
    ["0.0.0.0", 8],
    ["10.0.0.0", 8],
    ["100.64.0.0", 10],
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
    ["172.16.0.0", 12],
    ["192.0.0.0", 24],
    ["192.168.0.0", 16],
    ["198.18.0.0", 15],
    ["224.0.0.0", 4],
    ["240.0.0.0", 4],
  ] as const) {
    list.addSubnet(network, prefix, "ipv4");
  }
  for (const [network, prefix] of [
    // :: and ::1, and the deprecated IPv4-compatible forms ::a.b.c.d.
    ["::", 96],
    ["fc00::", 7],
    ["fe80::", 10],
    ["fec0::", 10],
    ["ff00::", 8],
  ] as const) {
    list.addSubnet(network, prefix, "ipv6");
  }
  return list;
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!match) return undefined;
  if (match[1]) return match[1];
  const high = parseInt(match[2]!, 16);
  const low = parseInt(match[3]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/** Every address this machine's interfaces carry: the server must not call itself on a public one either. */
function ownAddresses(): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) own.add(entry.address.toLowerCase().replace(/%.*$/, ""));
  }
  return own;
}

export interface TargetPolicyOptions {
  /** Host names (exact, case-insensitive), addresses and CIDR ranges that may be called even though they are forbidden. */
  allowedTargets: readonly string[];
  /** The addresses the server listens on (also forbidden unless allowed). */
  listenHosts?: readonly string[];
  resolve?: ResolveHost;
}

export function createTargetPolicy(options: TargetPolicyOptions): TargetPolicy {
  const resolve = options.resolve ?? systemResolver;
  const forbidden = forbiddenRanges();
  const own = ownAddresses();
  for (const host of options.listenHosts ?? []) if (isIP(host)) own.add(host.toLowerCase());
  const allowedNames = new Set<string>();
  const allowedRanges = new BlockList();
  for (const entry of options.allowedTargets) {
    const [network, prefix] = entry.split("/");
    const family = isIP(network ?? "");
    if (family === 0) {
      allowedNames.add(entry.toLowerCase());
      continue;
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) allowedRanges.addAddress(network!, type);
    else allowedRanges.addSubnet(network!, Number(prefix), type);
  }

  const refusal = (address: string): string | undefined => {
    const bare = address.toLowerCase();
    const v4 = isIP(bare) === 6 ? embeddedIpv4(bare) : undefined;
    const [checked, type] = v4
      ? [v4, "ipv4" as const]
      : [bare, isIP(bare) === 4 ? ("ipv4" as const) : ("ipv6" as const)];
    if (allowedRanges.check(checked, type) || (v4 && allowedRanges.check(bare, "ipv6"))) return undefined;
    if (own.has(checked) || own.has(bare)) return "is one of the server's own addresses";
    if (forbidden.check(checked, type)) return "is a loopback, link-local, private or reserved address";
    return undefined;
  };

  async function addresses(url: URL): Promise<LookupAddress[]> {
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    if (isIP(host)) {
      const why = refusal(host);
      if (why) throw new TargetRefusedError(`${host} ${why}; an operator can allow it in notifications.allowedTargets`);
      return [{ address: host, family: isIP(host) }];
    }
    let found: LookupAddress[];
    try {
      found = await resolve(host);
    } catch {
      throw new TargetRefusedError(`${host} does not resolve`);
    }
    if (found.length === 0) throw new TargetRefusedError(`${host} does not resolve`);
    if (allowedNames.has(host)) return found;
    // Every address, not just the first: a client may try them all.
    for (const { address } of found) {
      const why = refusal(address);
      if (why) {
        throw new TargetRefusedError(
          `${host} resolves to an address that ${why}; an operator can allow the name in notifications.allowedTargets`,
        );
      }
    }
    return found;
  }

  return {
    addresses,
    check: async (url) => void (await addresses(url)),
  };
}
