/**
 * Which address a request comes from, behind zero or more reverse proxies.
 *
 * `X-Forwarded-For` is a list the client starts and every proxy appends to: only the
 * entries added by proxies we run can be believed. So the client address is read from the
 * right: with `hops` trusted proxies it is the `hops`-th entry from the end (each trusted
 * proxy appended the address it saw); with a list of trusted networks it is the rightmost
 * entry that is not a trusted proxy, and only when the socket peer itself is one. Taking
 * the first entry, as many servers do, lets any client pick its own address and walk past
 * every per-IP limit.
 */
import net from 'node:net';

export type TrustProxy = { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'networks'; list: net.BlockList; text: string[] };

/** Parses `TRUST_PROXY`: false / true (one proxy) / a hop count / a comma list of addresses and CIDRs. */
export function parseTrustProxy(raw: string | undefined): TrustProxy | { error: string } {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0' || v === 'no') return { kind: 'none' };
  if (v === 'true' || v === 'yes') return { kind: 'hops', hops: 1 };
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return hops > 0 && hops <= 10 ? { kind: 'hops', hops } : { error: 'a hop count must be 1 to 10' };
  }
  const list = new net.BlockList();
  const text: string[] = [];
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [addr, bits] = part.split('/');
    const family = net.isIP(addr ?? '');
    if (!addr || family === 0) return { error: `"${part}" is not an IP address or CIDR` };
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr, type);
    else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) return { error: `"${part}" has an invalid prefix length` };
      list.addSubnet(addr, prefix, type);
    }
    text.push(part);
  }
  return { kind: 'networks', list, text };
}

/** Strips an IPv4-mapped IPv6 prefix and brackets so addresses compare as written. */
function normalise(addr: string): string {
  const a = addr.trim().replace(/^\[|\]$/g, '');
  return a.toLowerCase().startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

function trusted(list: net.BlockList, addr: string): boolean {
  const family = net.isIP(addr);
  return family !== 0 && list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
}

/** The client's address given the socket peer and the `X-Forwarded-For` header. */
export function clientAddress(trust: TrustProxy, peer: string, forwardedFor: string): string {
  const socketPeer = normalise(peer);
  if (trust.kind === 'none' || forwardedFor === '') return socketPeer;
  const hops = forwardedFor.split(',').map(normalise).filter(Boolean);
  if (trust.kind === 'hops') {
    // Fewer entries than trusted proxies: the request did not come through them all.
    const entry = hops[hops.length - trust.hops];
    return entry && net.isIP(entry) ? entry : socketPeer;
  }
  if (!trusted(trust.list, socketPeer)) return socketPeer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const h = hops[i]!;
    if (!net.isIP(h)) return socketPeer;
    if (!trusted(trust.list, h)) return h;
  }
  return hops[0] && net.isIP(hops[0]) ? hops[0] : socketPeer;
}
