// The console's only way to the server: the public REST API under /v1, with the bearer
// token from sign-in. The token lives in memory and in sessionStorage (so a reload keeps
// the session in this tab), never in a URL.

export type Role = 'marketer' | 'reviewer' | 'admin';
export interface User {
  id: string;
  email: string;
  display_name: string;
  role: Role;
  disabled: boolean;
  created_at: string;
}
export interface Session {
  token: string;
  expires_at: string;
  user: User;
}

/** An API refusal (application/problem+json); `detail` is what the user is shown. */
export class Problem extends Error {
  constructor(
    public status: number,
    public code: string,
    public detail: string,
    public errors: { field: string; code: string; message: string }[] = [],
  ) {
    super(detail);
  }
}

const KEY = 'moments-gate.session';
let session: Session | null = load();
const listeners = new Set<() => void>();
let expiredNotice = false;

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function currentSession(): Session | null {
  return session;
}

export function setSession(s: Session | null) {
  session = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

export function onSessionChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** True once after a request was refused with 401: the sign-in form says why. */
export function takeExpiredNotice(): boolean {
  const was = expiredNotice;
  expiredNotice = false;
  return was;
}

export interface Options {
  body?: unknown;
  ifMatch?: string;
  accept?: string;
}

export interface Answer<T> {
  data: T;
  etag: string | null;
}

/** Idempotency keys of POSTs whose outcome is not known yet, by caller, path and body. */
const unsettled = new Map<string, string>();

async function send(method: string, path: string, opts: Options = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  // One key per user action: sending the same POST again while its outcome is unknown (a
  // double click, a retry after a lost answer) reuses its key, so the server does it once.
  const action = method === 'POST' && session ? `${session.user.id} ${path} ${body ?? ''}` : null;
  if (action) {
    const key = unsettled.get(action) ?? crypto.randomUUID();
    unsettled.set(action, key);
    headers['Idempotency-Key'] = key;
  }
  let res: Response;
  try {
    res = await fetch(`/v1${path}`, { method, headers, body, credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new Problem(0, 'network', 'The server could not be reached. Check the connection and try again.');
  }
  let p: { code?: string; detail?: string; title?: string; errors?: Problem['errors'] } = {};
  if (!res.ok) {
    try {
      p = await res.json();
    } catch {
      /* not problem+json: keep the status line */
    }
  }
  // A 5xx or a still-running twin leaves the outcome unknown: keep the key for the retry.
  if (action && res.status < 500 && p.code !== 'idempotency_in_progress') unsettled.delete(action);
  if (res.ok) return res;
  if (res.status === 401 && session && path !== '/auth/login') {
    expiredNotice = true;
    setSession(null);
  }
  const detail =
    [p.detail ?? p.title ?? `${res.status} ${res.statusText}`]
      .concat((p.errors ?? []).map((e) => `${e.field}: ${e.message}`))
      .join(' ');
  throw new Problem(res.status, p.code ?? 'http_' + res.status, detail, p.errors ?? []);
}

export async function call<T>(method: string, path: string, opts: Options = {}): Promise<Answer<T>> {
  const res = await send(method, path, opts);
  const etag = res.headers.get('ETag');
  const data = res.status === 204 ? (undefined as T) : ((await res.json()) as T);
  return { data, etag };
}

export const get = async <T,>(path: string) => (await call<T>('GET', path)).data;
export const post = async <T,>(path: string, body: unknown = {}) => (await call<T>('POST', path, { body })).data;
export const del = async (path: string) => (await call<void>('DELETE', path)).data;

/** Fetches a file with the bearer token and hands it to the browser as a download. */
export async function download(path: string, accept: string, filename: string) {
  const res = await send('GET', path, { accept });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Every item of a list, following `next_cursor` (bounded: the console lists small sets). */
export async function all<T>(path: string, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page: Page<T> = await get<Page<T>>(
      `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export function query(params: Record<string, string | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
