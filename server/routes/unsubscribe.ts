/**
 * `/api/v1/unsubscribe?token=…`: the unsubscribe link of notification email (RFC 8058).
 *
 * - `POST` turns the email off: what a mail client's one-click unsubscribe sends (body
 *   `List-Unsubscribe=One-Click`, form-encoded or multipart; the signed token is the
 *   authority, so the body is not required) and what the confirmation page's button sends.
 *   No sign-in; 200 whether or not it was already off.
 * - `GET` shows a small page with that button and changes nothing: mail scanners and link
 *   previews fetch every link in a message.
 *
 * Both are rate-limited per address like the public links, answered `no-store`, `noindex`
 * and `no-referrer` (the address holds the token), and a bad or expired token is a 400 in
 * the API's error shape (an HTML page for a browser's GET).
 */
import { decodeProtectedHeader } from 'jose';
import { z } from 'zod';
import { invalidUnsubscribeToken, verifyUnsubscribeToken, type UnsubscribeClaims } from '../../core/unsubscribe-tokens.js';
import type { SigningKeys } from '../../core/keys.js';
import { AppError, isAppError } from '../../lib/errors.js';
import type { Req, Res } from '../../lib/http/edge.js';
import { unsubscribe } from '../commands/unsubscribe.js';
import { readQuery } from '../http/validate.js';
import { limit, type RouteContext } from './context.js';

const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};
/** A signed token is ~700 characters; anything far longer is not one of ours. */
const Query = z.object({ token: z.string().min(16).max(4096) });
/** The one-click body is 26 bytes; the page's form a few more. */
const MAX_BODY_BYTES = 4096;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(status: number, title: string, body: string): Res {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Quire</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2328}button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #1f2328;background:#1f2328;color:#fff;cursor:pointer}a{color:#0969da}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  return { status, text: html, headers: { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8' } };
}

const wantsHtml = (req: Req) => (req.headers['accept'] ?? '').includes('text/html');

export function unsubscribeRoutes(ctx: RouteContext): void {
  const { edge, svc, config } = ctx;
  const settingsUrl = `${config.notifications.publicUrl}/account#notifications`;
  // The API verifies with the public half of the key the worker signed with (by its kid:
  // links sent before a key rotation keep working until that key is retired).
  const verifyingKey = async (token: string): Promise<Pick<SigningKeys, 'kid' | 'publicKey'>> => {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw invalidUnsubscribeToken();
    }
    const publicKey = await svc.tokens.keys.publicKeyFor(kid);
    if (!kid || !publicKey) throw invalidUnsubscribeToken();
    return { kid, publicKey };
  };

  async function claimsOf(req: Req): Promise<{ token: string; claims: UnsubscribeClaims }> {
    // Per address, with the public links' budget (no sign-in on either).
    await limit(ctx, `unsubscribe:${req.ip}`, config.rateLimits.publicLink);
    const q = (() => {
      try {
        return readQuery(req, Query);
      } catch {
        throw invalidUnsubscribeToken();
      }
    })();
    return { token: q.token, claims: await verifyUnsubscribeToken(await verifyingKey(q.token), config.jwt.issuer, q.token) };
  }

  /** Errors keep the API's shape and gain the page headers; a browser gets a page. */
  function refusal(req: Req, e: unknown): Res {
    if (!isAppError(e)) throw e;
    if (wantsHtml(req) && e.code === 'invalid_token') {
      return page(
        400,
        'This link does not work',
        `<p>This unsubscribe link is not valid or has expired.</p><p>You can choose which email you get in your <a href="${escapeHtml(settingsUrl)}">notification settings</a>.</p>`,
      );
    }
    throw new AppError(e.status, e.code, e.message, e.details, { ...e.headers, ...PAGE_HEADERS });
  }

  edge.route(
    'get',
    '/api/v1/unsubscribe',
    async (req) => {
      try {
        const { token, claims } = await claimsOf(req);
        const what = claims.kind ? 'this kind of notification' : 'notifications';
        const action = `/api/v1/unsubscribe?token=${encodeURIComponent(token)}`;
        return page(
          200,
          'Unsubscribe from email',
          `<p>Stop getting email about ${what} from Quire? You will still see them in Quire.</p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>
<p><a href="${escapeHtml(settingsUrl)}">Notification settings</a></p>`,
        );
      } catch (e) {
        return refusal(req, e);
      }
    },
    {
      doc: {
        tag: 'Notifications',
        summary: 'The unsubscribe page of a notification email',
        description: 'A small HTML page with an Unsubscribe button; changes nothing (mail scanners fetch every link).',
        auth: 'none',
        query: Query,
        status: 200,
        response: { contentType: 'text/html' },
      },
    },
  );

  edge.route(
    'post',
    '/api/v1/unsubscribe',
    async (req) => {
      try {
        const { claims } = await claimsOf(req);
        const result = await unsubscribe(svc, req.ip, claims);
        if (wantsHtml(req)) {
          return page(
            200,
            'You are unsubscribed',
            `<p>You will no longer get email about ${claims.kind ? 'this kind of notification' : 'notifications'}. You still see them in Quire.</p><p>Changed your mind? Turn email back on in your <a href="${escapeHtml(settingsUrl)}">notification settings</a>.</p>`,
          );
        }
        return { status: 200, json: { unsubscribed: result.kinds }, headers: PAGE_HEADERS };
      } catch (e) {
        return refusal(req, e);
      }
    },
    {
      maxBodyBytes: MAX_BODY_BYTES,
      doc: {
        tag: 'Notifications',
        summary: 'Unsubscribe from notification email (one-click, RFC 8058)',
        description:
          'The signed token in the query is the authority; the body (`List-Unsubscribe=One-Click`) is optional. 200 whether or not it was already off; an HTML page for a browser (`Accept: text/html`).',
        auth: 'none',
        query: Query,
        rawBody: [{ contentType: 'application/x-www-form-urlencoded' }, { contentType: 'multipart/form-data' }],
        bodyOptional: true,
        status: 200,
        response: [{ contentType: 'application/json', description: '`{ "unsubscribed": [kinds] }`' }, { contentType: 'text/html' }],
      },
    },
  );
}
