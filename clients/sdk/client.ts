/**
 * The typed REST client for the v1 contract. Every call resolves to a `Result`; the client
 * keeps the session in a `TokenStorage`, refreshes the access token shortly before it
 * expires (and once more on a 401), and shares one refresh between concurrent calls and,
 * in browsers, between tabs (Web Locks), so a rotating refresh token is never used twice.
 */
import { err, ok, SESSION_ENDING_CODES, type QuireError, type Result } from './errors.js';
import { memoryTokenStorage, needsRefresh, type TokenStorage } from './tokens.js';
import { openNotificationStream, type NotificationStream, type NotificationStreamOptions } from './notifications.js';
import type { Attachment, AttachmentList, WorkspaceStorage } from './types.js';
import type {
  CreateWebhookRequest,
  ReplayWebhookResult,
  UpdateWebhookRequest,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookEndpointWithSecret,
  WebhookTestResult,
} from './types.js';
import type {
  AcceptInvitationRequest,
  ConfirmPasswordResetRequest,
  CreateInvitationRequest,
  Invitation,
  InvitationList,
  InvitationPreview,
  InvitationSent,
  PasswordResetLink,
  PasswordResetRequest,
} from './types.js';
import type {
  AuditPage,
  ApiKeyList,
  CreateApiKeyRequest,
  CreatedApiKey,
  MfaChallengeRequest,
  MfaCodeRequest,
  MfaEnrolled,
  MfaEnrolment,
  MfaStatus,
  MfaVerifyRequest,
  RecoveryCodes,
  WorkspaceMfa,
  WorkspaceMfaRequest,
  EndedSessions,
  SessionList,
  AuditQuery,
  CreateWorkflowRequest,
  DecisionRequest,
  ListNotificationsQuery,
  MarkNotificationsReadRequest,
  MarkNotificationsReadResponse,
  NotificationPage,
  NotificationPreferencePatch,
  NotificationPreferences,
  PushSubscriptionRequest,
  RequestReviewRequest,
  Review,
  ReviewList,
  Task,
  TaskList,
  UpdateWorkflowRequest,
  VapidPublicKey,
  Workflow,
  WorkflowList,
  ChangePasswordRequest,
  ContentFormat,
  CreateVersionRequest,
  ListVersionsQuery,
  RestoreVersionRequest,
  RestoreVersionResponse,
  TrashItem,
  TrashList,
  Version,
  VersionContentQuery,
  VersionDiff,
  VersionDiffQuery,
  VersionPage,
  SinceSeen,
  ClassifierList,
  ClassifierPrediction,
  ClassifierStatus,
  ClassifierSummary,
  Collection,
  CollectionList,
  ContentInput,
  CreateCollectionRequest,
  CreateDocumentRequest,
  CreateUserRequest,
  DeleteClassifierQuery,
  DeleteClassifierResponse,
  ClassificationAnswer,
  DocumentContentQuery,
  DocumentLabel,
  DocumentLabelList,
  DocumentMeta,
  DocumentPage,
  DuplicateDocumentRequest,
  LinkAccess,
  ListDocumentsQuery,
  LoginRequest,
  LogoutRequest,
  Me,
  MlSettings,
  Permission,
  PermissionLevel,
  PermissionList,
  PredictRequest,
  ProseMirrorJson,
  PublicDocument,
  PublicLink,
  PublicLinkState,
  PutContentRequest,
  RefreshRequest,
  SearchAnalytics,
  SearchAnalyticsQuery,
  SearchClickRequest,
  SearchMode,
  SearchQuery,
  SearchResult,
  Session,
  SessionUser,
  SetDocumentLabelRequest,
  SetMlSettingsRequest,
  SetPermissionRequest,
  SetPermissionResponse,
  SignupRequest,
  TenantRole,
  TrainClassifierRequest,
  TrainClassifierResponse,
  UpdateCollectionRequest,
  UpdateDocumentRequest,
  UpdateMeRequest,
  UpdateUserRequest,
  UpdateWorkspaceRequest,
  SsoDiscovery,
  SsoExchangeRequest,
  SsoSettings,
  UpdateSsoRequest,
  User,
  UserList,
  Workspace,
  Comment,
  CommentList,
  CreateCommentRequest,
  UpdateCommentRequest,
} from './types.js';

/** How a `QuireClient` reaches the server and keeps its session. */
export interface QuireClientOptions {
  /** Server origin, e.g. `https://quire.example.com`; `''` for the page's own origin. */
  baseUrl: string;
  /** Where the session is kept. @default memoryTokenStorage() */
  tokens?: TokenStorage;
  /**
   * An API key (`qak_…`, see `createApiKey`) to call as instead of a signed-in session:
   * sent as the bearer token of every request and document connection, never refreshed.
   * Sign-in calls are not needed (and `user` stays null); the key's scopes limit what works.
   */
  apiKey?: string;
  /** The `fetch` to call the server with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Refresh this many seconds before the access token expires. @default 30 */
  refreshLeewaySeconds?: number;
}

/** Hears the session start (`signed-in`), rotate (`refreshed`), end (`signed-out`, `expired`) or change in another tab (`external`). */
export type SessionListener = (user: SessionUser | null, reason: 'signed-in' | 'refreshed' | 'signed-out' | 'expired' | 'external') => void;

interface RequestOptions {
  json?: unknown;
  /** A raw body (a file) and its type. */
  raw?: { body: Uint8Array | Blob; contentType: string };
  query?: Record<string, string | number | boolean | undefined>;
  auth?: boolean;
  /** How to read a 2xx body. @default 'json' */
  as?: 'json' | 'text' | 'bytes' | 'none';
}

const REFRESH_LOCK = 'quire.token-refresh';

/** The REST client: one per server and session (see `QuireClientOptions`). */
export class QuireClient {
  /** The server origin, without a trailing slash. */
  readonly baseUrl: string;
  private readonly tokens: TokenStorage;
  private readonly fetchImpl: typeof fetch;
  private readonly leeway: number;
  private readonly apiKey: string | undefined;
  private refreshing: Promise<Result<Session>> | null = null;
  /** Password changes and sign-outs everywhere in flight (see `changePassword`). */
  private sessionChanges = 0;
  private readonly listeners = new Set<SessionListener>();

  constructor(opts: QuireClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.tokens = opts.tokens ?? memoryTokenStorage();
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.leeway = opts.refreshLeewaySeconds ?? 30;
    this.apiKey = opts.apiKey;
    this.tokens.subscribe?.(() => this.emit(this.tokens.load()?.user ?? null, 'external'));
  }

  // ---- session -------------------------------------------------------------------------

  /** Whether this client calls with an API key (`apiKey` option) rather than a session. */
  get usesApiKey(): boolean {
    return !!this.apiKey;
  }

  /** The signed-in user, or null. */
  get user(): SessionUser | null {
    return this.tokens.load()?.user ?? null;
  }

  /** Subscribes to sign-in, refresh, sign-out and expiry of the session (and changes made by another tab). Returns an unsubscribe function. */
  onSession(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(user: SessionUser | null, reason: Parameters<SessionListener>[1]): void {
    for (const l of this.listeners) l(user, reason);
  }

  /** Creates a workspace with its first owner and signs in as them (the session is stored; listeners hear `signed-in`). */
  async signup(input: SignupRequest): Promise<Result<Session>> {
    return this.startSession(await this.request<Session>('POST', '/api/v1/auth/signup', { json: input, auth: false }));
  }

  /** Signs in with email and password and stores the session. Answers `mfa_required` (see `completeMfa`) when the account has two-factor sign-in. */
  async login(input: LoginRequest): Promise<Result<Session>> {
    return this.startSession(await this.request<Session>('POST', '/api/v1/auth/login', { json: input, auth: false }));
  }

  /**
   * Ends the session on this device because the server says it is over (account removed
   * or disabled): the tokens are forgotten and listeners hear `expired`, so an app removes
   * what the user kept offline. `accessToken`, when given, must be the current one: a
   * refusal of an older session's token does not end a newer one.
   */
  endSession(accessToken?: string): void {
    const current = this.tokens.load();
    if (!current || (accessToken !== undefined && current.accessToken !== accessToken)) return;
    this.tokens.clear();
    this.emit(null, 'expired');
  }

  private startSession(r: Result<Session>): Result<Session> {
    if (r.ok) {
      this.tokens.save(r.value);
      this.emit(r.value.user, 'signed-in');
    }
    return r;
  }

  /**
   * Revokes the refresh token on the server (best effort) and forgets the session. Waits
   * for a refresh in flight (here or in another tab) so it cannot bring the session back.
   */
  async logout(): Promise<Result<void>> {
    await this.refreshing?.catch(() => undefined);
    const s = await this.withLock(async () => {
      const current = this.tokens.load();
      this.tokens.clear();
      return current;
    });
    this.emit(null, 'signed-out');
    if (!s) return ok(undefined);
    return this.request<void>('POST', '/api/v1/auth/logout', { json: { refreshToken: s.refreshToken } satisfies LogoutRequest, auth: false, as: 'none' });
  }

  /**
   * Ends every session of this user, on every device, this one included (`POST
   * /api/v1/auth/logout-all`): their refresh tokens are revoked, their access tokens refused
   * and their live documents closed. Once the server confirms, this device forgets the
   * session and listeners hear `signed-out`; when it does not (offline, say), the session
   * stays and the error says why, so the person can try again.
   */
  async logoutEverywhere(): Promise<Result<void>> {
    const before = this.tokens.load();
    // The sessions end on the server before the answer arrives: a refusal heard meanwhile
    // (a document's reconnect) is this sign-out, not an expiry.
    this.sessionChanges++;
    let r: Result<void>;
    try {
      r = await this.request<void>('POST', '/api/v1/auth/logout-all', { as: 'none' });
    } finally {
      this.sessionChanges--;
    }
    if (!r.ok) return this.endedMeanwhile(r, before);
    await this.refreshing?.catch(() => undefined);
    const ended = await this.withLock(async () => {
      const current = this.tokens.load();
      // Only the session that was ended: another account may have signed in meanwhile.
      if (!current || current.user.id !== before?.user.id) return false;
      this.tokens.clear();
      return true;
    });
    if (ended) this.emit(null, 'signed-out');
    return r;
  }

  /**
   * A valid access token (the API key, for a client made with one), refreshed first when it
   * expires within the leeway. Resolves to
   * an error result when there is no session or it can no longer be refreshed.
   */
  async accessToken(): Promise<Result<string>> {
    if (this.apiKey) return ok(this.apiKey);
    const s = this.tokens.load();
    if (!s) return err({ code: 'not_signed_in', message: 'Sign in first', status: 0 });
    if (!needsRefresh(s.accessToken, this.leeway)) return ok(s.accessToken);
    const r = await this.refresh(s.refreshToken);
    return r.ok ? ok(r.value.accessToken) : r;
  }

  /** Rotates the session's tokens. Concurrent callers (and tabs) share one refresh. */
  refresh(staleRefreshToken?: string): Promise<Result<Session>> {
    this.refreshing ??= this.withLock(() => this.doRefresh(staleRefreshToken)).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (!locks) return fn();
    return locks.request(REFRESH_LOCK, fn) as Promise<T>;
  }

  private async doRefresh(staleRefreshToken?: string): Promise<Result<Session>> {
    const s = this.tokens.load();
    if (!s) return err({ code: 'not_signed_in', message: 'Sign in first', status: 0 });
    // Another tab may have rotated the tokens while we waited for the lock.
    if (staleRefreshToken && s.refreshToken !== staleRefreshToken && !needsRefresh(s.accessToken, this.leeway)) {
      return ok(s);
    }
    const r = await this.request<Session>('POST', '/api/v1/auth/refresh', { json: { refreshToken: s.refreshToken } satisfies RefreshRequest, auth: false });
    // Only the session we refreshed may be replaced: it may have been signed out, or another
    // account signed in, while the request was on its way.
    const still = this.tokens.load()?.refreshToken === s.refreshToken;
    if (r.ok) {
      if (!still) {
        // Another tab refreshed (keep its pair) or the user signed out / switched account.
        const current = this.tokens.load();
        if (current && current.user.id === s.user.id) return ok(current);
        return err({ code: 'not_signed_in', message: 'The session changed while it was being refreshed', status: 0 });
      }
      this.tokens.save(r.value);
      this.emit(r.value.user, 'refreshed');
    } else if (still && this.sessionChanges === 0 && (SESSION_ENDING_CODES.has(r.error.code) || r.error.code === 'validation_failed')) {
      this.tokens.clear();
      this.emit(null, 'expired');
    }
    return r;
  }

  // ---- two-factor sign-in --------------------------------------------------------------

  /**
   * The second step of a sign-in, when `login` answered `mfa_required` (its error's
   * `details` is an `MfaChallenge`): a 6-digit code from the authenticator app or a recovery
   * code. Stores the session as `login` does.
   */
  async completeMfa(input: MfaVerifyRequest): Promise<Result<Session>> {
    return this.startSession(await this.request<Session>('POST', '/api/v1/auth/mfa', { json: input, auth: false }));
  }

  /** When `login` answered `mfa_enrollment_required`: the secret to put in an authenticator app. */
  mfaEnrolmentSecret(challenge: string): Promise<Result<MfaEnrolment>> {
    return this.request('POST', '/api/v1/auth/mfa/enrol', { json: { challenge } satisfies MfaChallengeRequest, auth: false });
  }

  /** Confirms that enrolment with a first code: two-factor sign-in is on and the session starts (stored as `login` stores one). */
  async completeMfaEnrolment(input: MfaVerifyRequest): Promise<Result<MfaEnrolled>> {
    const r = await this.request<MfaEnrolled>('POST', '/api/v1/auth/mfa/enrol/confirm', { json: input, auth: false });
    if (r.ok) {
      const { recoveryCodes: _codes, ...session } = r.value;
      this.startSession(ok(session));
    }
    return r;
  }

  /** Whether this user has two-factor sign-in, and whether the workspace requires it. */
  mfaStatus(): Promise<Result<MfaStatus>> {
    return this.request('GET', '/api/v1/me/mfa');
  }

  /** Starts enrolling an authenticator app from the account page: a new secret and its `otpauth://` URI (for a QR code). */
  startMfaEnrolment(): Promise<Result<MfaEnrolment>> {
    return this.request('POST', '/api/v1/me/mfa/enrol');
  }

  /** Turns two-factor sign-in on with a first code from the app; answers the ten recovery codes, shown once. */
  confirmMfaEnrolment(code: string): Promise<Result<RecoveryCodes>> {
    return this.request('POST', '/api/v1/me/mfa/confirm', { json: { code } satisfies MfaCodeRequest });
  }

  /** Ten new recovery codes (the old ones stop working); needs a code from the app. */
  regenerateRecoveryCodes(code: string): Promise<Result<RecoveryCodes>> {
    return this.request('POST', '/api/v1/me/mfa/recovery-codes', { json: { code } satisfies MfaCodeRequest });
  }

  /** Turns two-factor sign-in off (a code from the app or a recovery code); refused when the workspace requires it. */
  disableMfa(code: string): Promise<Result<void>> {
    return this.request('DELETE', '/api/v1/me/mfa', { json: { code } satisfies MfaCodeRequest, as: 'none' });
  }

  /** Resets a user's two-factor sign-in (owners and admins); every session of theirs ends. */
  resetUserMfa(userId: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/users/${encodeURIComponent(userId)}/mfa`, { as: 'none' });
  }

  /** Requires two-factor sign-in for everyone signing in with a password (owners and admins; the caller needs it on first). */
  setWorkspaceMfa(required: boolean): Promise<Result<WorkspaceMfa>> {
    return this.request('PUT', '/api/v1/workspace/mfa', { json: { required } satisfies WorkspaceMfaRequest });
  }

  // ---- API keys ------------------------------------------------------------------------

  /** Makes an API key for integrations; `secret` is shown this once. */
  createApiKey(input: CreateApiKeyRequest): Promise<Result<CreatedApiKey>> {
    return this.request('POST', '/api/v1/api-keys', { json: input });
  }

  /** This user's live keys; `all` (owners and admins): every live key of the workspace. */
  listApiKeys(opts: { all?: boolean } = {}): Promise<Result<ApiKeyList>> {
    return this.request('GET', '/api/v1/api-keys', { query: { all: opts.all ? 'true' : undefined } });
  }

  /** Revokes a key at once (its own, or any for owners and admins). */
  revokeApiKey(keyId: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/api-keys/${encodeURIComponent(keyId)}`, { as: 'none' });
  }

  // ---- webhooks (owners and admins) ---------------------------------------------------

  /** Registers an HTTPS endpoint for the workspace's events; `secret` (`whsec_…`, to verify signatures) is shown this once. */
  createWebhook(input: CreateWebhookRequest): Promise<Result<WebhookEndpointWithSecret>> {
    return this.request('POST', '/api/v1/webhooks', { json: input });
  }

  /** The workspace's webhook endpoints, with their health (`status`, `consecutiveFailures`). */
  listWebhooks(): Promise<Result<WebhookEndpointList>> {
    return this.request('GET', '/api/v1/webhooks');
  }

  /** One webhook endpoint. */
  getWebhook(webhookId: string): Promise<Result<WebhookEndpoint>> {
    return this.request('GET', `/api/v1/webhooks/${encodeURIComponent(webhookId)}`);
  }

  /** Changes an endpoint's URL, events, description, or turns it off and on (on again clears its failing state). */
  updateWebhook(webhookId: string, patch: UpdateWebhookRequest): Promise<Result<WebhookEndpoint>> {
    return this.request('PATCH', `/api/v1/webhooks/${encodeURIComponent(webhookId)}`, { json: patch });
  }

  /** Removes an endpoint and its delivery log. */
  deleteWebhook(webhookId: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/webhooks/${encodeURIComponent(webhookId)}`, { as: 'none' });
  }

  /** A new signing secret, shown this once; the previous one keeps signing beside it for `previousSecretHours` (default 24, 0: stops now). */
  rotateWebhookSecret(webhookId: string, opts: { previousSecretHours?: number } = {}): Promise<Result<WebhookEndpointWithSecret>> {
    return this.request('POST', `/api/v1/webhooks/${encodeURIComponent(webhookId)}/rotate-secret`, { json: opts });
  }

  /** Stops the previous secret signing now (after a rotation, once receivers use the new one). */
  expirePreviousWebhookSecret(webhookId: string): Promise<Result<WebhookEndpoint>> {
    return this.request('DELETE', `/api/v1/webhooks/${encodeURIComponent(webhookId)}/previous-secret`);
  }

  /** The endpoint's delivery log, newest first, with response codes; pass `nextCursor` back as `cursor` for older ones. */
  listWebhookDeliveries(webhookId: string, opts: { limit?: number; cursor?: string; status?: WebhookDeliveryStatus } = {}): Promise<Result<WebhookDeliveryList>> {
    return this.request('GET', `/api/v1/webhooks/${encodeURIComponent(webhookId)}/deliveries`, {
      query: { limit: opts.limit === undefined ? undefined : String(opts.limit), cursor: opts.cursor, status: opts.status },
    });
  }

  /** Sends one delivery again now, with its id. */
  retryWebhookDelivery(webhookId: string, deliveryId: string): Promise<Result<WebhookDelivery>> {
    return this.request('POST', `/api/v1/webhooks/${encodeURIComponent(webhookId)}/deliveries/${encodeURIComponent(deliveryId)}/retry`, { json: {} });
  }

  /** Sends this endpoint's events since `since` again, with their ids (as far back as the delivery log reaches). */
  replayWebhook(webhookId: string, since: Date | string): Promise<Result<ReplayWebhookResult>> {
    return this.request('POST', `/api/v1/webhooks/${encodeURIComponent(webhookId)}/replay`, { json: { since: typeof since === 'string' ? since : since.toISOString() } });
  }

  /** Queues a `webhook.test` event for the endpoint. */
  testWebhook(webhookId: string): Promise<Result<WebhookTestResult>> {
    return this.request('POST', `/api/v1/webhooks/${encodeURIComponent(webhookId)}/test`, { json: {} });
  }

  // ---- signed-in devices (sessions) ---------------------------------------------------

  /** This user's signed-in devices, most recently used first; `current` marks this one. */
  listSessions(): Promise<Result<SessionList>> {
    return this.request('GET', '/api/v1/me/sessions');
  }

  /** Signs one of this user's sessions out. Signing out this device's own session is `logout()`. */
  endOtherSession(sessionId: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/me/sessions/${encodeURIComponent(sessionId)}`, { as: 'none' });
  }

  /** Signs out every session of this user except this device's. */
  endOtherSessions(): Promise<Result<EndedSessions>> {
    return this.request('DELETE', '/api/v1/me/sessions');
  }

  /** A user's signed-in devices (owners and admins). */
  listUserSessions(userId: string): Promise<Result<SessionList>> {
    return this.request('GET', `/api/v1/users/${encodeURIComponent(userId)}/sessions`);
  }

  /** Ends every session of a user (owners and admins): they are signed out on every device. */
  endUserSessions(userId: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/users/${encodeURIComponent(userId)}/sessions`, { as: 'none' });
  }

  // ---- users ---------------------------------------------------------------------------

  /** The signed-in user's own account. */
  me(): Promise<Result<Me>> {
    return this.request('GET', '/api/v1/me');
  }

  /** Sets the signed-in user's display name (trimmed, 1–80 characters), or clears it with null. */
  updateMe(input: UpdateMeRequest): Promise<Result<Me>> {
    return this.request('PATCH', '/api/v1/me', { json: input });
  }

  /**
   * Changes the signed-in user's password. Every other session of theirs ends; the server
   * answers a new session for this device, which is stored as login stores one (listeners
   * hear `refreshed`: the same person, new tokens). Refusals: `wrong_password` (403),
   * `weak_password` (400, `details` is a `PasswordStrength`), `password_unchanged` (400),
   * `rate_limited` (429).
   */
  async changePassword(input: ChangePasswordRequest): Promise<Result<Session>> {
    const before = this.tokens.load();
    // While the change is on its way, the server may already have ended the old session
    // (a document's socket closes, its reconnect's refresh is refused): such a refusal must
    // not sign this device out before the new session arrives.
    this.sessionChanges++;
    try {
      const r = await this.request<Session>('POST', '/api/v1/me/password', { json: input });
      if (!r.ok) return this.endedMeanwhile(r, before);
      const current = this.tokens.load();
      // Not if the person signed out (or another account signed in) meanwhile.
      if (before && current?.user.id === before.user.id && r.value.user.id === before.user.id) {
        this.tokens.save(r.value);
        this.emit(r.value.user, 'refreshed');
      }
      return r;
    } finally {
      this.sessionChanges--;
    }
  }

  /**
   * A password change or sign-out everywhere refused because the session had already ended
   * (elsewhere, while it was on its way): the refusal that `sessionChanges` held back ends it now.
   */
  private endedMeanwhile<T>(r: Result<T> & { ok: false }, before: Session | null): Result<T> {
    if (SESSION_ENDING_CODES.has(r.error.code) && before && this.tokens.load()?.refreshToken === before.refreshToken) this.endSession();
    return r;
  }

  /** Everyone in the workspace (members see the list; guests are refused). */
  async listUsers(): Promise<Result<User[]>> {
    const r = await this.request<UserList>('GET', '/api/v1/users');
    return r.ok ? ok(r.value.users) : r;
  }

  /** Adds a person to the workspace with a first password and a role (owners and admins). */
  createUser(input: CreateUserRequest): Promise<Result<User>> {
    return this.request('POST', '/api/v1/users', { json: input });
  }

  /** Changes a person's workspace role (owners and admins). */
  updateUserRole(userId: string, role: TenantRole): Promise<Result<User>> {
    return this.request('PATCH', `/api/v1/users/${encodeURIComponent(userId)}`, { json: { role } satisfies UpdateUserRequest });
  }

  /** Removes a person from the workspace (owners and admins); their sessions, keys and live documents end. */
  removeUser(userId: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/users/${encodeURIComponent(userId)}`, { as: 'none' });
  }

  // ---- workspace -----------------------------------------------------------------------

  /** The caller's workspace: its id, name and whether its public links answer. */
  getWorkspace(): Promise<Result<Workspace>> {
    return this.request('GET', '/api/v1/workspace');
  }

  /** Renames the workspace or turns its public links on or off (owners and admins; `forbidden` otherwise). */
  updateWorkspace(input: UpdateWorkspaceRequest): Promise<Result<Workspace>> {
    return this.request('PATCH', '/api/v1/workspace', { json: input });
  }

  // ---- documents -----------------------------------------------------------------------

  /**
   * One page of the documents the caller can read: by default documents (not templates) of
   * every collection, newest first. `sort`, `collectionId` (`'root'`: the top level),
   * `starred`, `recent` (the caller's recently viewed, last viewed first), `q` (title
   * contains), `kind`; pass the page's `nextCursor` with the same options for the next one.
   */
  listDocuments(opts: ListDocumentsQuery = {}): Promise<Result<DocumentPage>> {
    return this.request('GET', '/api/v1/documents', { query: { ...opts } });
  }

  /** Creates a document (optionally with content, in a collection); the caller is its admin. */
  createDocument(input: CreateDocumentRequest): Promise<Result<DocumentMeta>> {
    return this.request('POST', '/api/v1/documents', { json: input });
  }

  /** A document's metadata and the caller's level on it (read access; `document_not_found` otherwise). */
  getDocument(id: string): Promise<Result<DocumentMeta>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}`);
  }

  /** Renames a document (write access). */
  renameDocument(id: string, title: string): Promise<Result<DocumentMeta>> {
    return this.request('PATCH', `/api/v1/documents/${encodeURIComponent(id)}`, { json: { title } satisfies UpdateDocumentRequest });
  }

  /** Changes the title (write), the collection (write; null: the top level) or the kind (admin) in one call. */
  updateDocument(id: string, input: UpdateDocumentRequest): Promise<Result<DocumentMeta>> {
    return this.request('PATCH', `/api/v1/documents/${encodeURIComponent(id)}`, { json: input });
  }

  /**
   * What every member of the workspace who is not a guest gets with the document's address:
   * `none`, `read` or `write` (admin on the document). It lists the document for nobody.
   */
  setLinkAccess(id: string, linkAccess: LinkAccess): Promise<Result<DocumentMeta>> {
    return this.updateDocument(id, { linkAccess });
  }

  /** Moves the document into a collection, or to the top level with `null` (write access). */
  moveDocument(id: string, collectionId: string | null): Promise<Result<DocumentMeta>> {
    return this.updateDocument(id, { collectionId });
  }

  /** Moves a document to the trash (admin on it); `restoreDocument` brings it back until the trash is emptied. */
  deleteDocument(id: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/documents/${encodeURIComponent(id)}`, { as: 'none' });
  }

  /** Undoes a delete (admin on the document); `document_not_found` when it is not deleted or not the caller's to restore. */
  restoreDocument(id: string): Promise<Result<DocumentMeta>> {
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(id)}/restore`);
  }

  /** Undoes a delete (admin on the document), as `restoreDocument` does. */
  undeleteDocument(id: string): Promise<Result<DocumentMeta>> {
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(id)}/undelete`);
  }

  /** The caller's deleted documents they may restore, newest deletion first, each with when it leaves the trash (`purgeAt`). */
  async listTrash(): Promise<Result<TrashItem[]>> {
    const r = await this.request<TrashList>('GET', '/api/v1/trash');
    return r.ok ? ok(r.value.documents) : r;
  }

  /** One page of the document's versions, newest first (read access); pass `nextCursor` as `cursor` for older ones. */
  listVersions(id: string, opts: ListVersionsQuery = {}): Promise<Result<VersionPage>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/versions`, { query: { ...opts } });
  }

  /** Saves the document's current state as a named version (write access). */
  createVersion(id: string, name: string): Promise<Result<Version>> {
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(id)}/versions`, { json: { name } satisfies CreateVersionRequest });
  }

  /** A version's content: plain text, ProseMirror JSON, or its Yjs state as one update. */
  getVersionContent(id: string, versionId: string, format: 'text'): Promise<Result<string>>;
  getVersionContent(id: string, versionId: string, format: 'json'): Promise<Result<ProseMirrorJson>>;
  getVersionContent(id: string, versionId: string, format: 'yjs'): Promise<Result<Uint8Array>>;
  getVersionContent(id: string, versionId: string, format: ContentFormat): Promise<Result<string | ProseMirrorJson | Uint8Array>> {
    const as = format === 'text' ? 'text' : format === 'yjs' ? 'bytes' : 'json';
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/versions/${encodeURIComponent(versionId)}/content`, { query: { format } satisfies VersionContentQuery, as });
  }

  /**
   * What changed between a version and another one (`against`: its id) or the current state
   * (`against` omitted): from the older to the newer, block by block, each run of text marked
   * same/added/removed with who added or removed it.
   */
  diffVersion(id: string, versionId: string, against: string = 'current'): Promise<Result<VersionDiff>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/versions/${encodeURIComponent(versionId)}/diff`, { query: { against } satisfies VersionDiffQuery });
  }

  /** What changed since the caller last had the document open ("while you were away"). */
  sinceSeen(id: string): Promise<Result<SinceSeen>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/since-seen`);
  }

  /**
   * Makes a version's content the current content (write access): open editors receive it as
   * a change; resolves with the `restore` version it recorded once that change is durable.
   * Restoring the version before that one undoes it.
   */
  async restoreVersion(id: string, versionId: string): Promise<Result<Version>> {
    const r = await this.request<RestoreVersionResponse>('POST', `/api/v1/documents/${encodeURIComponent(id)}/restore`, { json: { versionId } satisfies RestoreVersionRequest });
    return r.ok ? ok(r.value.version) : r;
  }

  /**
   * A new document with this one's content; the caller is its only admin. "Save as template":
   * `{ kind: 'template' }`; "new from template": duplicate a template with no options.
   */
  duplicateDocument(id: string, input: DuplicateDocumentRequest = {}): Promise<Result<DocumentMeta>> {
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(id)}/duplicate`, { json: input });
  }

  /** Stars a document for the caller (`listDocuments({starred: true})`). */
  starDocument(id: string): Promise<Result<void>> {
    return this.request('PUT', `/api/v1/documents/${encodeURIComponent(id)}/star`, { as: 'none' });
  }

  /** Removes the caller's star from a document. */
  unstarDocument(id: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/documents/${encodeURIComponent(id)}/star`, { as: 'none' });
  }

  /** Records that the caller opened the document now (`lastViewedAt`, the `recent` list). */
  recordView(id: string): Promise<Result<void>> {
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(id)}/views`, { as: 'none' });
  }

  /** The document's content as plain text (read access). */
  getText(id: string): Promise<Result<string>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/content`, { query: { format: 'text' } satisfies DocumentContentQuery, as: 'text' });
  }

  /** The document's content as ProseMirror JSON, as Tiptap's `editor.getJSON()` has it (read access). */
  getJson(id: string): Promise<Result<ProseMirrorJson>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/content`, { query: { format: 'json' } satisfies DocumentContentQuery });
  }

  /** The document's Yjs state as one update (apply it with `Y.applyUpdate`). */
  getYjsState(id: string): Promise<Result<Uint8Array>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/content`, { query: { format: 'yjs' } satisfies DocumentContentQuery, as: 'bytes' });
  }

  /** Replaces (or appends to) the content; resolves once the change is durable and live clients have it. */
  putContent(id: string, input: ContentInput, mode: 'replace' | 'append' = 'replace'): Promise<Result<void>> {
    return this.request('PUT', `/api/v1/documents/${encodeURIComponent(id)}/content`, { json: { ...input, mode } satisfies PutContentRequest, as: 'none' });
  }

  /** Who has explicit access to the document, and at which level (read access). */
  async listPermissions(id: string): Promise<Result<Permission[]>> {
    const r = await this.request<PermissionList>('GET', `/api/v1/documents/${encodeURIComponent(id)}/permissions`);
    return r.ok ? ok(r.value.permissions) : r;
  }

  /** Grants `level` to a user of the tenant; `none` removes their access. */
  setPermission(id: string, userId: string, level: PermissionLevel | 'none'): Promise<Result<SetPermissionResponse>> {
    return this.request('PUT', `/api/v1/documents/${encodeURIComponent(id)}/permissions`, { json: { userId, level } satisfies SetPermissionRequest });
  }

  /**
   * A new public read-only link for the document (admin on it), replacing the previous one,
   * which stops working. The token (and `url`, `/p/<token>` on the server's origin) is
   * shown this once; `public_links_disabled` while the workspace has public links off.
   */
  createPublicLink(id: string): Promise<Result<PublicLink>> {
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(id)}/public-link`);
  }

  /** Whether the document has a public link, and since when (read access); the address itself cannot be read again. */
  getPublicLink(id: string): Promise<Result<PublicLinkState>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/public-link`);
  }

  /** Revokes the document's public link (admin on it); its address answers `public_link_not_found` from now on. */
  revokePublicLink(id: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/documents/${encodeURIComponent(id)}/public-link`, { as: 'none' });
  }

  /**
   * The document behind a public link's token, read only: title, content (ProseMirror JSON
   * and text), last update and the workspace's name. Needs no session and sends none.
   * `public_link_not_found` for a token that does not work (unknown, replaced, revoked, its
   * document deleted, or public links off in its workspace).
   */
  getPublicDocument(token: string): Promise<Result<PublicDocument>> {
    return this.request('GET', `/api/v1/public/${encodeURIComponent(token)}`, { auth: false });
  }

  // ---- comments ------------------------------------------------------------------------

  /**
   * Every comment of the document (read access): threads first, then replies, each with
   * where its anchor stands in the current text (or `detached` once its text was deleted).
   */
  async listComments(id: string): Promise<Result<Comment[]>> {
    const r = await this.request<CommentList>('GET', `/api/v1/documents/${encodeURIComponent(id)}/comments`);
    return r.ok ? ok(r.value.comments) : r;
  }

  /**
   * A new thread (`anchor`: text offsets or relative positions from an editor's selection;
   * none comments on the whole document) or a reply (`parentId`). Needs `comment` access.
   * Mention people as `@[Name](user:<id>)` in the body.
   */
  createComment(id: string, input: CreateCommentRequest): Promise<Result<Comment>> {
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(id)}/comments`, { json: input });
  }

  /** Changes a comment's body (its author) and/or resolves or reopens a thread (`comment` access). */
  updateComment(id: string, commentId: string, input: UpdateCommentRequest): Promise<Result<Comment>> {
    return this.request('PATCH', `/api/v1/documents/${encodeURIComponent(id)}/comments/${encodeURIComponent(commentId)}`, { json: input });
  }

  /** Deletes a comment (its author, or a document admin); a thread goes with its replies. */
  deleteComment(id: string, commentId: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/documents/${encodeURIComponent(id)}/comments/${encodeURIComponent(commentId)}`, { as: 'none' });
  }

  /** The document's label from the workspace's default classifier (or the built-in model). */
  getClassification(id: string): Promise<Result<ClassificationAnswer>> {
    return this.request('GET', `/api/v1/documents/${encodeURIComponent(id)}/classification`);
  }

  // ---- collections ---------------------------------------------------------------------

  /** Every collection of the workspace (flat, with `parentId`; members who are not guests). */
  async listCollections(): Promise<Result<Collection[]>> {
    const r = await this.request<CollectionList>('GET', '/api/v1/collections');
    return r.ok ? ok(r.value.collections) : r;
  }

  /** Creates a collection (folder), at the top level or inside `parentId`. */
  createCollection(input: CreateCollectionRequest): Promise<Result<Collection>> {
    return this.request('POST', '/api/v1/collections', { json: input });
  }

  /** Renames a collection or moves it (with what it holds) under another, or to the top level with `parentId: null`. */
  updateCollection(id: string, input: UpdateCollectionRequest): Promise<Result<Collection>> {
    return this.request('PATCH', `/api/v1/collections/${encodeURIComponent(id)}`, { json: input });
  }

  /** Deletes a collection; its documents and sub-collections move to its parent. */
  deleteCollection(id: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/collections/${encodeURIComponent(id)}`, { as: 'none' });
  }

  // ---- search and ML -------------------------------------------------------------------

  /** Searches the documents the caller can read (`mode` defaults to `hybrid`); each hit has a `<mark>`ed snippet (see `snippetParts`). */
  search(q: string, opts: { mode?: SearchMode; limit?: number } = {}): Promise<Result<SearchResult>> {
    return this.request('GET', '/api/v1/search', { query: { q, mode: opts.mode, limit: opts.limit } satisfies SearchQuery });
  }

  /** Records that the hit at 1-based `position` of search `searchId` was opened (for the workspace's search analytics). */
  recordSearchClick(searchId: string, documentId: string, position: number): Promise<Result<void>> {
    return this.request('POST', '/api/v1/search/clicks', { json: { searchId, documentId, position } satisfies SearchClickRequest, as: 'none' });
  }

  /** Top queries and queries without results over the last `days` days (owners and admins). */
  searchAnalytics(opts: { days?: number; limit?: number } = {}): Promise<Result<SearchAnalytics>> {
    return this.request('GET', '/api/v1/search/analytics', { query: { days: opts.days, limit: opts.limit } satisfies SearchAnalyticsQuery });
  }

  /** Trains a new version from examples, or (`source: 'documents'`) from the documents labelled for `name`. */
  createClassifier(input: TrainClassifierRequest): Promise<Result<TrainClassifierResponse>> {
    return this.request('POST', '/api/v1/ml/classifiers', { json: input });
  }

  /** One classifier version: training state, metrics and whether it is active. */
  getClassifier(id: string): Promise<Result<ClassifierStatus>> {
    return this.request('GET', `/api/v1/ml/classifiers/${encodeURIComponent(id)}`);
  }

  /** The workspace's classifiers with every version and its metrics. */
  async listClassifiers(): Promise<Result<ClassifierSummary[]>> {
    const r = await this.request<ClassifierList>('GET', '/api/v1/ml/classifiers');
    return r.ok ? ok(r.value.classifiers) : r;
  }

  /** Makes version `id` the active one and keeps it there until unpinned. */
  pinClassifier(id: string): Promise<Result<ClassifierStatus>> {
    return this.request('POST', `/api/v1/ml/classifiers/${encodeURIComponent(id)}/pin`);
  }

  /** Lets the newest trained version become active again. */
  unpinClassifier(id: string): Promise<Result<ClassifierStatus>> {
    return this.request('DELETE', `/api/v1/ml/classifiers/${encodeURIComponent(id)}/pin`);
  }

  /** Goes back to the version active before the current one (of the classifier of version `id`). */
  rollbackClassifier(id: string): Promise<Result<ClassifierStatus>> {
    return this.request('POST', `/api/v1/ml/classifiers/${encodeURIComponent(id)}/rollback`);
  }

  /** Deletes one version (not the active one), or with `scope: 'classifier'` every version of its classifier. */
  deleteClassifier(id: string, scope: 'version' | 'classifier' = 'version'): Promise<Result<DeleteClassifierResponse>> {
    return this.request('DELETE', `/api/v1/ml/classifiers/${encodeURIComponent(id)}`, { query: { scope } satisfies DeleteClassifierQuery });
  }

  /** Classifies a text with classifier version `id`. */
  predict(id: string, text: string): Promise<Result<ClassifierPrediction>> {
    return this.request('POST', `/api/v1/ml/classifiers/${encodeURIComponent(id)}/predict`, { json: { text } satisfies PredictRequest });
  }

  /** The workspace's default classifier for document labels (null: the built-in model). */
  getMlSettings(): Promise<Result<MlSettings>> {
    return this.request('GET', '/api/v1/ml/settings');
  }

  /** The classifier whose label documents show (owners and admins); null: the built-in model. */
  setDefaultClassifier(name: string | null): Promise<Result<MlSettings>> {
    return this.request('PUT', '/api/v1/ml/settings', { json: { defaultClassifier: name } satisfies SetMlSettingsRequest });
  }

  /** Labels people set on the document, per classifier (training data for `source: 'documents'`). */
  async listDocumentLabels(documentId: string): Promise<Result<DocumentLabel[]>> {
    const r = await this.request<DocumentLabelList>('GET', `/api/v1/documents/${encodeURIComponent(documentId)}/labels`);
    return r.ok ? ok(r.value.labels) : r;
  }

  /** Labels a document for training classifier `classifier` (write access). */
  setDocumentLabel(documentId: string, classifier: string, label: string): Promise<Result<DocumentLabel>> {
    return this.request('PUT', `/api/v1/documents/${encodeURIComponent(documentId)}/labels/${encodeURIComponent(classifier)}`, { json: { label } satisfies SetDocumentLabelRequest });
  }

  /** Removes the label set on the document for one classifier. */
  clearDocumentLabel(documentId: string, classifier: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/documents/${encodeURIComponent(documentId)}/labels/${encodeURIComponent(classifier)}`, { as: 'none' });
  }

  // ---- notifications -------------------------------------------------------------------

  /** The caller's notifications, newest first, with their unread count in all. */
  listNotifications(query: ListNotificationsQuery = {}): Promise<Result<NotificationPage>> {
    return this.request('GET', '/api/v1/notifications', { query: { unread: query.unread, cursor: query.cursor, limit: query.limit } });
  }

  /** Marks some (`{ids}`) or all (`{all: true}`) read; answers the unread count left. */
  markNotificationsRead(input: MarkNotificationsReadRequest): Promise<Result<MarkNotificationsReadResponse>> {
    return this.request('POST', '/api/v1/notifications/read', { json: input });
  }

  /**
   * Live notifications (Server-Sent Events over fetch, with the session's token): `onEvent`
   * gets the unread count when the stream opens and each new notification as it is made.
   * It reconnects by itself (with a fresh token, after a backoff) until closed.
   */
  streamNotifications(opts: NotificationStreamOptions): NotificationStream {
    return openNotificationStream({ url: `${this.baseUrl}/api/v1/notifications/stream`, fetch: this.fetchImpl, token: () => this.accessToken() }, opts);
  }

  /** Which notifications the caller gets on which channel, and the workspace defaults. */
  getNotificationPreferences(): Promise<Result<NotificationPreferences>> {
    return this.request('GET', '/api/v1/me/notification-preferences');
  }

  /** Sets the kinds and channels named; the rest stay as they are. */
  setNotificationPreferences(preferences: NotificationPreferencePatch): Promise<Result<NotificationPreferences>> {
    return this.request('PUT', '/api/v1/me/notification-preferences', { json: { preferences } });
  }

  /** The workspace's default notification preferences. */
  getNotificationDefaults(): Promise<Result<NotificationPreferences>> {
    return this.request('GET', '/api/v1/workspace/notification-defaults');
  }

  /** The workspace's defaults (owners and admins). */
  setNotificationDefaults(preferences: NotificationPreferencePatch): Promise<Result<NotificationPreferences>> {
    return this.request('PUT', '/api/v1/workspace/notification-defaults', { json: { preferences } });
  }

  /** The key a browser subscribes to Web Push with (`PushManager.subscribe({applicationServerKey})`). */
  getVapidPublicKey(): Promise<Result<VapidPublicKey>> {
    return this.request('GET', '/api/v1/push/vapid-public-key');
  }

  /** Registers this browser's push subscription (`PushSubscription.toJSON()`). */
  addPushSubscription(sub: PushSubscriptionRequest): Promise<Result<unknown>> {
    return this.request('POST', '/api/v1/me/push-subscriptions', { json: sub });
  }

  /** Stops Web Push to one browser subscription (its `endpoint`). */
  removePushSubscription(endpoint: string): Promise<Result<void>> {
    return this.request('DELETE', '/api/v1/me/push-subscriptions', { json: { endpoint }, as: 'none' });
  }

  // ---- review workflows ----------------------------------------------------------------

  /** The workspace's review workflows. */
  async listWorkflows(): Promise<Result<Workflow[]>> {
    const r = await this.request<WorkflowList>('GET', '/api/v1/workflows');
    return r.ok ? ok(r.value.workflows) : r;
  }

  /** One review workflow. */
  getWorkflow(id: string): Promise<Result<Workflow>> {
    return this.request('GET', `/api/v1/workflows/${encodeURIComponent(id)}`);
  }

  /** Owners and admins define workflows. */
  createWorkflow(input: CreateWorkflowRequest): Promise<Result<Workflow>> {
    return this.request('POST', '/api/v1/workflows', { json: input });
  }

  /** Changes a workflow's name, steps or archived flag (owners and admins); running reviews keep their steps. */
  updateWorkflow(id: string, input: UpdateWorkflowRequest): Promise<Result<Workflow>> {
    return this.request('PATCH', `/api/v1/workflows/${encodeURIComponent(id)}`, { json: input });
  }

  /** Asks for a review of a document (write access), optionally of a named version. */
  requestReview(documentId: string, input: RequestReviewRequest): Promise<Result<Review>> {
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(documentId)}/reviews`, { json: input });
  }

  /** A document's reviews, newest first, each with its tasks and every decision. */
  async listReviews(documentId: string): Promise<Result<Review[]>> {
    const r = await this.request<ReviewList>('GET', `/api/v1/documents/${encodeURIComponent(documentId)}/reviews`);
    return r.ok ? ok(r.value.reviews) : r;
  }

  /** The caller's review tasks (`open` by default). */
  async listTasks(status: 'open' | 'decided' | 'all' = 'open'): Promise<Result<Task[]>> {
    const r = await this.request<TaskList>('GET', '/api/v1/tasks', { query: { status } });
    return r.ok ? ok(r.value.tasks) : r;
  }

  /** Approves, rejects or requests changes (a comment is needed for the last two). */
  decideTask(taskId: string, input: DecisionRequest): Promise<Result<Review>> {
    return this.request('POST', `/api/v1/tasks/${encodeURIComponent(taskId)}/decision`, { json: input });
  }

  // ---- files ---------------------------------------------------------------------------

  /**
   * Adds a file to a document in one request (write access; up to 32 MiB here, larger files
   * resume with a tus client against `POST /api/v1/uploads`). PNG, JPEG, GIF and WebP become
   * images; anything else an attachment. Put it in the text as `image{src: "attachment:<id>"}`
   * or `fileAttachment{id, name, size, contentType}`.
   */
  uploadAttachment(documentId: string, file: Uint8Array | Blob, opts: { name: string; contentType?: string }): Promise<Result<Attachment>> {
    const contentType = opts.contentType ?? (typeof Blob !== 'undefined' && file instanceof Blob && file.type ? file.type : 'application/octet-stream');
    return this.request('POST', `/api/v1/documents/${encodeURIComponent(documentId)}/attachments`, { query: { name: opts.name }, raw: { body: file, contentType } });
  }

  /** The document's files, newest first (read access). */
  async listAttachments(documentId: string): Promise<Result<Attachment[]>> {
    const r = await this.request<AttachmentList>('GET', `/api/v1/documents/${encodeURIComponent(documentId)}/attachments`);
    return r.ok ? ok(r.value.attachments) : r;
  }

  /** One file's details (read access to its document). */
  getAttachment(id: string): Promise<Result<Attachment>> {
    return this.request('GET', `/api/v1/attachments/${encodeURIComponent(id)}`);
  }

  /** A file's bytes (read access to its document). */
  downloadAttachment(id: string): Promise<Result<Uint8Array>> {
    return this.request('GET', `/api/v1/attachments/${encodeURIComponent(id)}/content`, { as: 'bytes' });
  }

  /** What the workspace's files take, its quota, and the largest file accepted. */
  workspaceStorage(): Promise<Result<WorkspaceStorage>> {
    return this.request('GET', '/api/v1/workspace/storage');
  }

  // ---- audit log -----------------------------------------------------------------------

  /** The workspace's audit log, newest first (owners and admins). */
  listAudit(query: Omit<AuditQuery, 'format'> = {}): Promise<Result<AuditPage>> {
    return this.request('GET', '/api/v1/audit', { query: { ...query } });
  }

  /** Every matching entry as NDJSON text, one JSON object per line (owners and admins; the export is audited). */
  exportAudit(query: Omit<AuditQuery, 'format' | 'cursor' | 'limit'> = {}): Promise<Result<string>> {
    return this.request('GET', '/api/v1/audit', { query: { ...query, format: 'ndjson' }, as: 'text' });
  }

  // ---- transport -----------------------------------------------------------------------

  /** The WebSocket URL of the sync endpoint. */
  get syncUrl(): string {
    const base = this.baseUrl || (globalThis.location ? globalThis.location.origin : '');
    return base.replace(/^http/, 'ws') + '/sync';
  }

  private async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Result<T>> {
    const auth = opts.auth ?? true;
    let token: string | undefined;
    if (auth) {
      const t = await this.accessToken();
      if (!t.ok) return t;
      token = t.value;
    }
    const first = await this.send<T>(method, path, opts, token);
    if (!first.ok && auth && SESSION_ENDING_CODES.has(first.error.code)) {
      // The account was removed or disabled: nothing signed in may stay on this device.
      this.endSession(token);
      return first;
    }
    if (first.ok || !auth || first.error.status !== 401 || !['token_expired', 'invalid_token', 'session_revoked'].includes(first.error.code)) return first;
    // The token was refused (clock skew, key rotation, a session ended elsewhere): refresh once
    // and retry. After `session_revoked` only a session started since refreshes; the others end.
    const stale = this.tokens.load()?.refreshToken;
    const r = await this.refresh(stale);
    if (!r.ok) return r;
    return this.send<T>(method, path, opts, r.value.accessToken);
  }

  private async send<T>(method: string, path: string, opts: RequestOptions, token: string | undefined): Promise<Result<T>> {
    let url = this.baseUrl + path;
    if (opts.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers['authorization'] = `Bearer ${token}`;
    let body: string | Uint8Array | Blob | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.raw) {
      body = opts.raw.body;
      headers['content-type'] = opts.raw.contentType;
    }
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body: body as BodyInit | undefined });
    } catch (e) {
      return err({ code: 'network_error', message: `Could not reach the server: ${(e as Error).message}`, status: 0 });
    }
    const requestId = res.headers.get('x-request-id') ?? undefined;
    if (!res.ok) return err(await readError(res, requestId));
    try {
      switch (opts.as ?? 'json') {
        case 'none':
          return ok(undefined as T);
        case 'text':
          return ok((await res.text()) as T);
        case 'bytes':
          return ok(new Uint8Array(await res.arrayBuffer()) as T);
        default:
          return ok((await res.json()) as T);
      }
    } catch (e) {
      return err({ code: 'invalid_response', message: `The server's answer could not be read: ${(e as Error).message}`, status: res.status, requestId });
    }
  }

  // ---- invitations and password reset ----------------------------------------------------

  /** Invites an email to the workspace with a role (owners and admins). Emailed when the server has SMTP; else the answer has the `link` to pass on. */
  createInvitation(input: CreateInvitationRequest): Promise<Result<InvitationSent>> {
    return this.request('POST', '/api/v1/invitations', { json: input });
  }

  /** The workspace's pending invitations, newest first (owners and admins). */
  async listInvitations(): Promise<Result<Invitation[]>> {
    const r = await this.request<InvitationList>('GET', '/api/v1/invitations');
    return r.ok ? ok(r.value.invitations) : r;
  }

  /** Revokes a pending invitation: its link stops working (owners and admins). */
  revokeInvitation(id: string): Promise<Result<void>> {
    return this.request('DELETE', `/api/v1/invitations/${encodeURIComponent(id)}`, { as: 'none' });
  }

  /** A new link for a pending invitation (emailed, or in the answer); the old link stops working. */
  resendInvitation(id: string): Promise<Result<InvitationSent>> {
    return this.request('POST', `/api/v1/invitations/${encodeURIComponent(id)}/resend`);
  }

  /** What an invitation link joins (no sign-in): workspace, email, role, expiry. */
  getInvitation(token: string): Promise<Result<InvitationPreview>> {
    return this.request('GET', `/api/v1/auth/invitations/${encodeURIComponent(token)}`, { auth: false });
  }

  /** Accepts an invitation with a password (no sign-in); then sign in with `login`. */
  acceptInvitation(input: AcceptInvitationRequest): Promise<Result<User>> {
    return this.request('POST', '/api/v1/auth/invitations/accept', { json: input, auth: false });
  }

  /** Asks for a password reset email (no sign-in). Always succeeds the same way, whether or not the account exists. */
  requestPasswordReset(email: string): Promise<Result<void>> {
    return this.request('POST', '/api/v1/auth/password-reset', { json: { email } satisfies PasswordResetRequest, auth: false, as: 'none' });
  }

  /** Sets a new password with a reset link's token (no sign-in); every session of the account ends. */
  confirmPasswordReset(input: ConfirmPasswordResetRequest): Promise<Result<void>> {
    return this.request('POST', '/api/v1/auth/password-reset/confirm', { json: input, auth: false, as: 'none' });
  }

  /** A password reset link for a user (owners and admins): emailed when the server has SMTP, else in the answer. */
  createPasswordResetLink(userId: string): Promise<Result<PasswordResetLink>> {
    return this.request('POST', `/api/v1/users/${encodeURIComponent(userId)}/password-reset`);
  }

  // ---- single sign-on (OpenID Connect) -----------------------------------------------------

  /** The workspace's SSO settings (owners and admins). The client secret is never returned, only `hasClientSecret`. */
  getSso(): Promise<Result<SsoSettings>> {
    return this.request('GET', '/api/v1/workspace/sso');
  }

  /** Saves the SSO settings after the server ran OpenID discovery against the issuer (`sso_discovery_failed` otherwise). Omit `clientSecret` to keep the stored one. */
  putSso(input: UpdateSsoRequest): Promise<Result<SsoSettings>> {
    return this.request('PUT', '/api/v1/workspace/sso', { json: input });
  }

  /** Switches SSO off (its settings and secret are removed; people keep their accounts). */
  deleteSso(): Promise<Result<void>> {
    return this.request('DELETE', '/api/v1/workspace/sso', { as: 'none' });
  }

  /** Whether the workspace that claims this email's domain signs in with SSO, and whether it must (no sign-in; answered by domain). */
  ssoDiscover(email: string): Promise<Result<SsoDiscovery>> {
    return this.request('GET', '/api/v1/auth/sso/discover', { query: { email }, auth: false });
  }

  /** Where to send the browser to sign in with SSO: by the email's domain, or a workspace's id. */
  ssoStartUrl(by: { email: string } | { workspace: string }): string {
    const q = new URLSearchParams('email' in by ? { email: by.email } : { workspace: by.workspace });
    return `${this.baseUrl}/api/v1/auth/sso/start?${q.toString()}`;
  }

  /**
   * Trades the one-time code the server put in `/sso/done#code=…` for a session and keeps it,
   * like `login` (listeners hear `signed-in`). The code works once, for a minute.
   */
  async ssoExchange(code: string): Promise<Result<Session>> {
    return this.startSession(await this.request<Session>('POST', '/api/v1/auth/sso/exchange', { json: { code } satisfies SsoExchangeRequest, auth: false }));
  }
}

async function readError(res: Response, requestId: string | undefined): Promise<QuireError> {
  const retry = Number(res.headers.get('retry-after'));
  const base = { status: res.status, requestId, ...(Number.isFinite(retry) && retry > 0 ? { retryAfter: retry } : {}) };
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (body.error && typeof body.error.code === 'string') {
      return { ...base, code: body.error.code, message: String(body.error.message ?? body.error.code), details: body.error.details };
    }
  } catch {
    // Not our JSON error shape (a proxy's HTML page, say).
  }
  return { ...base, code: res.status >= 500 ? 'internal_error' : 'invalid_response', message: `The server answered ${res.status} ${res.statusText}`.trim() };
}
