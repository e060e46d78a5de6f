/**
 * One POST to a URL someone else chose (a browser's push service, a webhook endpoint), with
 * the endpoint policy held on the connection itself: the lookup given checks the address
 * connected to (`core/push-endpoint.ts` `guardedLookup`), a redirect is an answer like any
 * other and never followed, the whole exchange has a deadline, no connection is pooled,
 * and at most `maxAnswerBytes` of the answer are read (the rest is dropped).
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';

export interface OutboundPost {
  url: URL;
  headers: Record<string, string | number>;
  body: string | Buffer | undefined;
  lookup: net.LookupFunction;
  /** The whole exchange (connect, send, answer) ends after this long. */
  timeoutMs: number;
  /** Answer bytes read before the rest is dropped. @default 64 KiB */
  maxAnswerBytes?: number;
  /** Called with a function that ends the request early (the caller is stopping). */
  onAbort?: (abort: () => void) => void;
}

/**
 * An HTTP answer (any status), the deadline passing, a network error (`refused` when the
 * lookup refused the address), or an abort by the caller.
 */
export type OutboundResult = { status: number } | { timedOut: true } | { error: NodeJS.ErrnoException } | { aborted: true };

export function postOnce(p: OutboundPost): Promise<OutboundResult> {
  const client = p.url.protocol === 'http:' ? http : https;
  const maxAnswerBytes = p.maxAnswerBytes ?? 64 * 1024;
  return new Promise<OutboundResult>((resolve) => {
    let settled = false;
    const done = (r: OutboundResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(r);
    };
    const req = client.request(
      {
        hostname: p.url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: p.url.port || undefined,
        path: `${p.url.pathname}${p.url.search}`,
        method: 'POST',
        headers: p.headers,
        lookup: p.lookup,
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > maxAnswerBytes) res.destroy();
        });
        res.on('error', () => undefined);
        res.on('end', () => done({ status }));
        res.on('close', () => done({ status }));
      },
    );
    const deadline = setTimeout(() => {
      req.destroy();
      done({ timedOut: true });
    }, p.timeoutMs);
    p.onAbort?.(() => {
      req.destroy();
      done({ aborted: true });
    });
    req.on('error', (e: NodeJS.ErrnoException) => done({ error: e }));
    req.end(p.body);
  });
}
