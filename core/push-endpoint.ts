/**
 * Which Web Push endpoints the server sends to. An endpoint is a URL the browser gives us
 * and the server POSTs to, so it is someone else's input pointed at our network: only
 * `https:` URLs on the default port whose host resolves to public addresses are accepted
 * (not loopback, private, link-local, shared, multicast, documentation or reserved
 * ranges, IPv4 or IPv6, nor IPv4 addresses embedded in IPv6 ones). The check runs when a
 * browser subscribes and again on every send, at connect time (`guardedLookup`), so a
 * name that resolves elsewhere later is still refused. `PUSH_ALLOW_PRIVATE_ENDPOINTS`
 * turns the guard off (tests, closed networks), and then allows `http:` too.
 */
import dns from 'node:dns';
import net from 'node:net';

/** Longest endpoint URL (real ones are 200–700 characters). @default 2048 (the column's limit) */
export const MAX_PUSH_ENDPOINT_CHARS = 2048;
/** A name lookup at subscribe time gives up after this long. @default 5 s */
const LOOKUP_TIMEOUT_MS = 5_000;

/** An endpoint the server will not send to, with the reason (safe to show: it names no secret). */
export class PushEndpointRefused extends Error {
  override readonly name = 'PushEndpointRefused';
}

const blocked = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8], // this network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local (cloud metadata)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  blocked.addSubnet(net4, bits, 'ipv4');
}

/** The eight 16-bit groups of an IPv6 address (valid input assumed, `net.isIPv6`). */
function groupsOf(ip: string): number[] {
  let text = ip.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const b = dotted[1].split('.').map(Number);
    text = text.slice(0, -dotted[1].length) + `${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  return [...h, ...Array<string>(fill).fill('0'), ...t].map((g) => parseInt(g, 16));
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** Whether an IP address is one the server may send to without the private-endpoint flag. */
export function isPublicAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return !blocked.check(ip, 'ipv4');
  if (family !== 6) return false;
  const g = groupsOf(ip);
  const [g0 = 0, g1 = 0, , , g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): the IPv4 address decides.
  if (g0 === 0 && g1 === 0 && g[2] === 0 && g[3] === 0 && g4 === 0 && (g5 === 0xffff || g5 === 0)) return g6 === 0 && g5 === 0 ? false : isPublicAddress(v4Of(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b) return isPublicAddress(v4Of(g6, g7));
  // 6to4 (2002:aabb:ccdd::) embeds an IPv4 address after the prefix.
  if (g0 === 0x2002) return isPublicAddress(v4Of(g1, g[2] ?? 0));
  // Only global unicast (2000::/3), without Teredo (2001::/32) and documentation (2001:db8::/32).
  if ((g0 & 0xe000) !== 0x2000) return false;
  if (g0 === 0x2001 && (g1 === 0 || g1 === 0xdb8)) return false;
  return true;
}

/** The host of a URL as an address when it is one (`[::1]` → `::1`), else null. */
function literalAddress(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return net.isIP(host) ? host : null;
}

/**
 * The endpoint as a URL, if its form is acceptable: `https:` on the default port (or any
 * `http(s):` URL when private endpoints are allowed), no credentials, a host. An address
 * literal is checked here; a name is checked when it is resolved.
 */
export function parsePushEndpoint(endpoint: string, allowPrivate: boolean): URL {
  if (endpoint.length > MAX_PUSH_ENDPOINT_CHARS) throw new PushEndpointRefused(`the endpoint is longer than ${MAX_PUSH_ENDPOINT_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new PushEndpointRefused('the endpoint is not a URL');
  }
  if (url.username || url.password) throw new PushEndpointRefused('the endpoint may not carry credentials');
  if (!url.hostname) throw new PushEndpointRefused('the endpoint has no host');
  if (allowPrivate) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PushEndpointRefused('the endpoint must be an http(s) URL');
    return url;
  }
  if (url.protocol !== 'https:') throw new PushEndpointRefused('the endpoint must be an https URL');
  if (url.port !== '') throw new PushEndpointRefused('the endpoint must use the default https port');
  const literal = literalAddress(url);
  if (literal !== null && !isPublicAddress(literal)) throw new PushEndpointRefused('the endpoint is on a private, loopback or reserved address');
  return url;
}

/** Every address a name resolves to (all families), or an error after `LOOKUP_TIMEOUT_MS`. */
async function resolveAll(host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      dns.promises.lookup(host, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PushEndpointRefused('the endpoint’s host did not resolve in time')), LOOKUP_TIMEOUT_MS);
      }),
    ]);
    return found.map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The subscribe-time check: the endpoint's form, and every address its host resolves to.
 * Throws `PushEndpointRefused`.
 */
export async function checkPushEndpoint(endpoint: string, allowPrivate: boolean): Promise<URL> {
  const url = parsePushEndpoint(endpoint, allowPrivate);
  if (allowPrivate || literalAddress(url) !== null) return url;
  let addresses: string[];
  try {
    addresses = await resolveAll(url.hostname);
  } catch (e) {
    if (e instanceof PushEndpointRefused) throw e;
    throw new PushEndpointRefused('the endpoint’s host does not resolve');
  }
  if (addresses.length === 0 || !addresses.every(isPublicAddress)) throw new PushEndpointRefused('the endpoint’s host resolves to a private, loopback or reserved address');
  return url;
}

/**
 * A `lookup` for outgoing push requests that refuses a name resolving to any address the
 * guard blocks, so the address checked is the address connected to (no second lookup a
 * changed DNS answer could slip through). Address literals never reach a lookup: check
 * them with `parsePushEndpoint` first.
 */
export function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses;
      if (list.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      if (!allowPrivate && !list.every((a) => isPublicAddress(a.address))) {
        return callback(Object.assign(new PushEndpointRefused('the endpoint’s host resolves to a private, loopback or reserved address'), { code: 'EPUSHREFUSED' }), '', 0);
      }
      if (options.all) return callback(null, list);
      const first = list[0]!;
      return callback(null, first.address, first.family);
    });
  };
}
