/** A thin fetch wrapper for tests: every call returns status, headers and parsed body. */
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email: string; tenantId: string; role: string };
}

const ANSWER_WITHIN_MS = 60_000;

export class ApiClient {
  constructor(readonly base: string) {}

  async request<T = any>(method: string, path: string, opts: { token?: string; json?: unknown; body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
    let body: string | Uint8Array | undefined = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    // A request the server never answers fails by name instead of holding the test forever.
    const signal = AbortSignal.timeout(ANSWER_WITHIN_MS);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, { method, headers, body: body as BodyInit | undefined, signal });
      text = await res.text();
    } catch (e) {
      if (signal.aborted) throw new Error(`${method} ${path} got no answer within ${ANSWER_WITHIN_MS / 1000} s`, { cause: e });
      throw e;
    }
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('application/json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, token?: string) {
    return this.request<T>('GET', path, { token });
  }
  post<T = any>(path: string, json: unknown, token?: string) {
    return this.request<T>('POST', path, { json, token });
  }
  put<T = any>(path: string, json: unknown, token?: string) {
    return this.request<T>('PUT', path, { json, token });
  }
  patch<T = any>(path: string, json: unknown, token?: string) {
    return this.request<T>('PATCH', path, { json, token });
  }
  del<T = any>(path: string, token?: string) {
    return this.request<T>('DELETE', path, { token });
  }

  /** Signs up a new tenant with a unique email; returns the owner's session. */
  async signup(tenant = 'Acme', email = `owner-${Math.random().toString(36).slice(2)}@example.test`, password = 'correct horse battery'): Promise<Session> {
    const r = await this.post<Session>('/api/v1/auth/signup', { tenant, email, password });
    if (r.status !== 201) throw new Error(`signup failed: ${r.status} ${r.text}`);
    return r.body;
  }

  /** Owner/admin adds a user and logs them in. */
  async addUser(admin: Session, role: 'admin' | 'member' | 'guest' | 'owner' = 'member', password = 'another good password'): Promise<Session> {
    const email = `${role}-${Math.random().toString(36).slice(2)}@example.test`;
    const r = await this.post('/api/v1/users', { email, password, role }, admin.accessToken);
    if (r.status !== 201) throw new Error(`add user failed: ${r.status} ${r.text}`);
    const l = await this.post<Session>('/api/v1/auth/login', { email, password });
    if (l.status !== 200) throw new Error(`login failed: ${l.status} ${l.text}`);
    return l.body;
  }

  async createDocument(s: Session, title = 'Doc'): Promise<{ id: string; title: string }> {
    const r = await this.post('/api/v1/documents', { title }, s.accessToken);
    if (r.status !== 201) throw new Error(`create document failed: ${r.status} ${r.text}`);
    return r.body;
  }
}
