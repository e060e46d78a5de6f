/**
 * A real OpenID Provider (`oidc-provider`) on loopback for the SSO tests, with an account
 * store and an interaction handler the test drives: whoever is in `loginAs` signs in and
 * consents at once, no pages. `tamper` rewrites the ID token the token endpoint answers
 * (re-signed with the provider's own key, or with `foreignKey`) to make wrong-nonce,
 * wrong-audience, wrong-issuer, expired and forged tokens while everything else stays real.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type JWK } from 'jose';

export interface Account {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface TestClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** Rewrites the ID token's claims; `signWith: 'foreign'` signs with a key the provider never published. */
export type Tamper = (claims: Record<string, unknown>) => { claims: Record<string, unknown>; signWith?: 'provider' | 'foreign' };

export interface TestProvider {
  issuer: string;
  client: TestClient;
  accounts: Map<string, Account>;
  /** The account the next interaction signs in as (its `sub`). */
  loginAs: string | null;
  tamper: Tamper | null;
  /** Token requests answered so far. */
  tokenRequests: number;
  /** Requests of any kind so far. */
  requests: number;
  close(): Promise<void>;
}

// oidc-provider ships no types; the surface used here is typed by hand.
interface OidcProvider {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<{ uid: string; prompt: { name: string }; params: Record<string, string> }>;
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: unknown, opts?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: new (p: { accountId: string; clientId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startOidcProvider(t: TestContext, opts: { redirectUri: string }): Promise<TestProvider> {
  const { default: Provider } = (await import('oidc-provider')) as unknown as { default: new (issuer: string, config: unknown) => OidcProvider };
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const foreign = await generateKeyPair('RS256', { extractable: true });

  const client: TestClient = { clientId: 'quire-test', clientSecret: crypto.randomBytes(24).toString('base64url'), redirectUri: opts.redirectUri };
  const accounts = new Map<string, Account>();
  const holder: { provider?: OidcProvider } = {};
  const state: Omit<TestProvider, 'close' | 'issuer' | 'client' | 'accounts'> = { loginAs: null, tamper: null, tokenRequests: 0, requests: 0 };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      res.statusCode = 500;
      res.end(String((e as Error).message));
    });
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const p = holder.provider!;
    state.requests++;
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.startsWith('/interaction/')) {
      const details = await p.interactionDetails(req, res);
      const accountId = state.loginAs;
      if (!accountId || !accounts.has(accountId)) {
        await p.interactionFinished(req, res, { error: 'access_denied', error_description: 'no test account signs in' }, { mergeWithLastSubmission: false });
        return;
      }
      if (details.prompt.name === 'login') {
        await p.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new p.Grant({ accountId, clientId: client.clientId });
      grant.addOIDCScope('openid email profile');
      await p.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      return;
    }
    if (path === '/token' && req.method === 'POST') {
      state.tokenRequests++;
      const tamper = state.tamper;
      if (tamper && req.headers['x-untampered'] !== '1') {
        // Let the real token endpoint answer, then rewrite its ID token.
        const body = await readBody(req);
        const headers: Record<string, string> = { 'x-untampered': '1' };
        for (const h of ['authorization', 'content-type']) if (req.headers[h]) headers[h] = String(req.headers[h]);
        const real = await fetch(`${issuer}/token`, { method: 'POST', headers, body: new Uint8Array(body) });
        const json = (await real.json()) as Record<string, unknown>;
        if (typeof json['id_token'] === 'string') {
          const out = tamper(decodeJwt(json['id_token']) as Record<string, unknown>);
          const key = out.signWith === 'foreign' ? foreign.privateKey : privateKey;
          json['id_token'] = await new SignJWT(out.claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid!, typ: 'JWT' }).sign(key);
        }
        res.writeHead(real.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(json));
        return;
      }
    }
    p.callback()(req, res);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  holder.provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [client.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, id: string) => {
      const a = accounts.get(id);
      if (!a) return undefined;
      return { accountId: id, claims: () => ({ ...a }) };
    },
    ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
  });

  const helper: TestProvider = {
    issuer,
    client,
    accounts,
    get loginAs() {
      return state.loginAs;
    },
    set loginAs(v) {
      state.loginAs = v;
    },
    get tamper() {
      return state.tamper;
    },
    set tamper(v) {
      state.tamper = v;
    },
    get tokenRequests() {
      return state.tokenRequests;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  t.after(() => helper.close());
  return helper;
}

/**
 * A minimal cookie-keeping browser for `fetch`: follows redirects one by one (so a test can
 * stop at any hop), keeps cookies per host (ignoring the port, as browsers do) and path.
 */
export class CookieBrowser {
  private jar = new Map<string, { value: string; path: string }>();

  cookie(name: string): string | undefined {
    return this.jar.get(name)?.value;
  }

  setCookie(name: string, value: string, path = '/'): void {
    this.jar.set(name, { value, path });
  }

  private header(url: URL): string {
    return [...this.jar.entries()]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([k, c]) => `${k}=${c.value}`)
      .join('; ');
  }

  /** One request, no redirect followed; cookies it sets are kept. */
  async get(url: string | URL): Promise<Response> {
    const u = new URL(url);
    const res = await fetch(u, { redirect: 'manual', headers: { cookie: this.header(u) } });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const path =
        attrs
          .map((a) => a.trim())
          .find((a) => a.toLowerCase().startsWith('path='))
          ?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^max-age=0$/i.test(a.trim()) || /^expires=thu, 01 jan 1970/i.test(a.trim()));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, { value, path });
    }
    return res;
  }

  /** Follows redirects until `stop(url)` says so (or an answer is not a redirect); returns the last URL reached. */
  async follow(start: string | URL, stop: (url: URL) => boolean, maxHops = 20): Promise<{ url: URL; res: Response | null }> {
    let url = new URL(start);
    for (let hop = 0; hop < maxHops; hop++) {
      if (stop(url)) return { url, res: null };
      const res = await this.get(url);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { url, res };
      await res.arrayBuffer();
      url = new URL(location, url);
    }
    throw new Error(`more than ${maxHops} redirects from ${String(start)}`);
  }
}
