/**
 * Authentication: the access token must verify (RS256, pinned), the document must exist
 * in the caller's tenant and be readable by them. `read` and `comment` ⇒ a read-only
 * connection whose document updates and stateless messages are refused (and told so); its
 * awareness is relayed like anyone's (readers show in presence), within the awareness
 * limits. A read-only connection is told its level once connected (`quire.access`): the
 * protocol's read-only flag does not tell `comment` from `read`.
 * Tokens can be refreshed on an open socket (`onTokenSync`); the sweep asks clients with
 * an expired token for a fresh one and closes those that do not answer.
 */
import type { connectedPayload, Extension, Hocuspocus, onAuthenticatePayload, onConfigurePayload, onStatelessPayload, onTokenSyncPayload } from '@hocuspocus/server';

import { credentialOf, type Principal, type TokenService } from '../../core/tokens.js';
import { isApiKey, verifyApiKey } from '../../core/api-keys.js';
import type { Logger } from '../../lib/log.js';
import { editsContent } from '../../core/access.js';
import { lostAccessClose, resolveAccess } from '../access.js';
import { CLOSE, DENIED, denied, refusal, stateless, SyncRefusal, type SyncContext } from '../context.js';
import type { UwsSocket } from '../uws-socket.js';
import type { Admission } from './limits.js';
import type { AppDb } from '../../db/store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface AuthenticationConfiguration {
  tokens: TokenService;
  db: AppDb;
  log: Logger;
  /** How long a connection may run on an expired token after being asked for a new one. @default 60_000 */
  expiredTokenGraceMs: number;
  /** How often expired tokens are looked for. @default 15_000 */
  sweepIntervalMs: number;
  /** Connection limits, asked once the caller and their level are known (Limits.admit); throws to refuse. */
  admit?: (a: Admission) => void;
}

function expOf(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}

export class Authentication implements Extension {
  extensionName = 'Authentication';
  private readonly config: AuthenticationConfiguration;
  private instance: Hocuspocus | null = null;
  private sweep: NodeJS.Timeout | null = null;

  constructor(config: Partial<AuthenticationConfiguration> & Pick<AuthenticationConfiguration, 'tokens' | 'db' | 'log'>) {
    this.config = { expiredTokenGraceMs: 60_000, sweepIntervalMs: 15_000, ...config };
  }

  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    this.instance = instance;
    this.sweep ??= setInterval(() => this.sweepExpired(), this.config.sweepIntervalMs);
    this.sweep.unref();
  }

  /** Admits the connection to the document, or refuses it with one log line saying why. */
  async onAuthenticate(data: onAuthenticatePayload<SyncContext>): Promise<Partial<SyncContext>> {
    const caller: { user?: string } = {};
    try {
      return await this.authenticate(data, caller);
    } catch (e) {
      if (e instanceof SyncRefusal) {
        this.config.log.info({ cat: 'sync', doc: data.documentName, user: caller.user, ip: data.context.ip, reason: e.reason }, 'document connection refused');
      }
      throw e;
    }
  }

  private async authenticate(data: onAuthenticatePayload<SyncContext>, caller: { user?: string }): Promise<Partial<SyncContext>> {
    const { token, documentName, connectionConfig } = data;
    if (!UUID.test(documentName)) throw denied(DENIED.forbidden);
    const principal = await this.principalOf(token, data.context.ip ?? null).catch((e: unknown) => {
      throw denied((e as { code?: string }).code === 'token_expired' ? DENIED.tokenExpired : DENIED.invalidToken);
    });
    // A key connects only with the read scope (and writes only with the write scope: `credentialOf`).
    if (principal.apiKey && !principal.apiKey.scopes.includes('read')) throw denied(DENIED.forbidden);
    caller.user = principal.userId;
    const credential = credentialOf(principal);
    const access = await resolveAccess(this.config.db, principal.tenantId, principal.userId, documentName, credential);
    // Missing and forbidden look the same: existence is not leaked.
    if (access === 'inactive') throw denied(DENIED.accountInactive);
    if (access === 'revoked') throw denied(DENIED.sessionRevoked);
    if (!access) throw denied(DENIED.forbidden);
    connectionConfig.readOnly = !editsContent(access.level);
    this.config.admit?.({ documentName, userId: access.user.id, socket: data.context.socket, readOnly: connectionConfig.readOnly });
    // The workspace's inbound budget and turn apply from here: frames sent while the
    // document loads count too.
    if (data.context.socket) data.context.socket.tenantId ??= access.user.tenantId;
    return { user: access.user, level: access.level, tokenExp: this.expiryOf(token, principal), credential };
  }

  async onTokenSync(data: onTokenSyncPayload<SyncContext>): Promise<void> {
    const { connection, token, documentName } = data;
    const ctx = connection.context;
    // A refusal closes the socket itself: thrown from this hook, Hocuspocus would only detach
    // the document and leave the socket open, and the client would never learn to renew.
    const refuse = (why: (typeof CLOSE)['invalidToken' | 'tokenForAnotherUser']) => {
      this.config.log.info({ cat: 'sync', doc: documentName, user: ctx.user?.id, ip: ctx.ip, reason: why.reason }, 'renewed token refused; closing socket');
      (connection.webSocket as UwsSocket).close(why.code, why.reason);
      return new SyncRefusal(why);
    };
    let principal;
    try {
      principal = await this.principalOf(token, ctx.ip ?? null);
    } catch {
      throw refuse(CLOSE.invalidToken);
    }
    if (!ctx.user || principal.userId !== ctx.user.id) throw refuse(CLOSE.tokenForAnotherUser);
    if (principal.apiKey && !principal.apiKey.scopes.includes('read')) throw refuse(CLOSE.invalidToken);
    const credential = credentialOf(principal);
    const access = await resolveAccess(this.config.db, principal.tenantId, principal.userId, documentName, credential);
    if (!access || access === 'inactive' || access === 'revoked') {
      const why = lostAccessClose(access);
      this.config.log.info({ cat: 'sync', doc: documentName, user: principal.userId, ip: ctx.ip, reason: why.reason }, 'access lost at token renewal; closing socket');
      (connection.webSocket as UwsSocket).close(why.code, why.reason);
      return;
    }
    // Mutate in place: Hocuspocus keeps the original context object on the connection.
    ctx.tokenExp = this.expiryOf(token, principal);
    ctx.credential = credential;
    ctx.level = access.level;
    ctx.user = access.user;
    connection.readOnly = !editsContent(access.level);
  }

  /** The principal of an access token, or of an API key (checked against the database: revoked or expired keys are refused). */
  private principalOf(token: string, ip: string | null): Promise<Principal> {
    return isApiKey(token) ? verifyApiKey(this.config.db, token, ip) : this.config.tokens.verifyAccess(token);
  }

  /** When the connection's credential runs out: the token's `exp`, or the key's expiry (the sweep then asks for a new one). */
  private expiryOf(token: string, principal: Principal): number | undefined {
    return principal.apiKey ? Math.floor(principal.apiKey.expiresAt.getTime() / 1000) : expOf(token);
  }

  async connected({ connection, context }: connectedPayload<SyncContext>): Promise<void> {
    if (context.level && !editsContent(context.level)) connection.sendStateless(stateless({ type: 'quire.access', level: context.level }));
  }

  async onStateless({ connection }: onStatelessPayload): Promise<void> {
    // Quire defines no client-to-server stateless messages; read-only senders are told no.
    if (connection.readOnly) connection.sendStateless(refusal('stateless', 'read-only'));
  }

  private sweepExpired(): void {
    const hp = this.instance;
    if (!hp) return;
    const now = Date.now() / 1000;
    for (const doc of hp.documents.values()) {
      for (const conn of doc.getConnections()) {
        const ctx = conn.context as SyncContext;
        if (!ctx.tokenExp || ctx.tokenExp > now) continue;
        if ((now - ctx.tokenExp) * 1000 > this.config.expiredTokenGraceMs) {
          (conn.webSocket as UwsSocket).close(CLOSE.tokenExpired.code, CLOSE.tokenExpired.reason);
        } else {
          conn.requestToken();
        }
      }
    }
  }

  async onDestroy(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
  }
}
