// Who may use the console. Every request but the login needs a session (an HttpOnly, SameSite
// cookie); every request that changes anything also needs the session's CSRF token in the
// X-CSRF-Token header and, when the browser sends one, an Origin equal to the console's own.
// Two ways in: the one-time-printed login URL with its token (the console on 127.0.0.1, the
// operator at that machine's terminal), or a name and password from the users file (required
// with TLS when the console listens on any other address).
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readJsonFile } from '../../flight/config/fields.js';
import { ConfigError, TernError } from '../../flight/errors.js';

export const SESSION_COOKIE = 'tern_session';
/** A session unused this long is forgotten. */
export const SESSION_IDLE_MS = 12 * 3600_000;

export interface Session {
  readonly id: string;
  readonly user: string;
  readonly csrf: string;
  lastUsedMs: number;
}

export class AuthError extends TernError {
  readonly code: 'CONSOLE_NO_SESSION' | 'CONSOLE_CSRF' | 'CONSOLE_LOGIN';
  constructor(code: AuthError['code'], message: string) {
    super(message);
    this.name = 'AuthError';
    this.code = code;
  }
}

/** scrypt parameters of the users file: N=2^15, r=8, p=1 (about 50 ms per login). */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 << 20 } as const;

/** A users-file entry for `password`: "scrypt:<salt hex>:<hash hex>". */
export function hashPassword(password: string, salt = randomBytes(16)): string {
  return `scrypt:${salt.toString('hex')}:${scryptSync(password, salt, 32, SCRYPT).toString('hex')}`;
}

function passwordMatches(password: string, stored: string): boolean {
  const [scheme, saltHex, hashHex] = stored.split(':');
  if (scheme !== 'scrypt' || !saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, 'hex');
  const actual = scryptSync(password, Buffer.from(saltHex, 'hex'), expected.length, SCRYPT);
  return timingSafeEqual(actual, expected);
}

/** The users file: [{ "name": "alice", "password": "scrypt:..." }] (tern gse console --hash-password). */
export function readUsers(file: string): Map<string, string> {
  const raw = readJsonFile(file, 'users file');
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError(file, '(file)', 'a non-empty array of { name, password }');
  const users = new Map<string, string>();
  raw.forEach((u: unknown, i) => {
    const { name, password } = (typeof u === 'object' && u !== null ? u : {}) as { name?: unknown; password?: unknown };
    if (typeof name !== 'string' || name === '') throw new ConfigError(file, `[${i}].name`, 'a user name', name);
    if (typeof password !== 'string' || !password.startsWith('scrypt:')) throw new ConfigError(file, `[${i}].password`, 'a scrypt:... hash from --hash-password', password);
    users.set(name, password);
  });
  return users;
}

export function cookies(request: IncomingMessage): Map<string, string> {
  const jar = new Map<string, string>();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) jar.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return jar;
}

export interface AuthOptions {
  /** Name and password hash per user; without it only the login token opens a session. */
  readonly users?: Map<string, string>;
  /** The console's own origin (scheme://host:port), checked against the Origin header. */
  origin: string;
  readonly secure: boolean;
  /** Who the login token makes the session's user (the operator at the console's terminal). */
  readonly tokenUser: string;
}

export class Sessions {
  /** The secret of the login URL printed at start. */
  readonly loginToken = randomBytes(24).toString('base64url');
  private readonly sessions = new Map<string, Session>();

  constructor(readonly options: AuthOptions) {}

  private open(user: string): Session {
    const session = { id: randomBytes(24).toString('base64url'), user, csrf: randomBytes(24).toString('base64url'), lastUsedMs: Date.now() };
    this.sessions.set(session.id, session);
    return session;
  }

  loginWithToken(token: string): Session {
    const given = Buffer.from(token);
    const expected = Buffer.from(this.loginToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AuthError('CONSOLE_LOGIN', 'wrong or stale login link: use the one the console printed');
    return this.open(this.options.tokenUser);
  }

  loginWithPassword(name: string, password: string): Session {
    const stored = this.options.users?.get(name);
    // A name that is not there costs the same hashing time as a wrong password.
    const ok = passwordMatches(password, stored ?? hashPassword('', Buffer.alloc(16)));
    if (!stored || !ok) throw new AuthError('CONSOLE_LOGIN', 'unknown user or wrong password');
    return this.open(name);
  }

  logout(session: Session): void {
    this.sessions.delete(session.id);
  }

  /** The request's session; throws CONSOLE_NO_SESSION. */
  session(request: IncomingMessage, nowMs = Date.now()): Session {
    const id = cookies(request).get(SESSION_COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session || nowMs - session.lastUsedMs > SESSION_IDLE_MS) {
      if (session) this.sessions.delete(session.id);
      throw new AuthError('CONSOLE_NO_SESSION', 'log in first');
    }
    session.lastUsedMs = nowMs;
    return session;
  }

  /** For a request that changes something: its session, CSRF token and origin checked. */
  changing(request: IncomingMessage): Session {
    const session = this.session(request);
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== this.options.origin) throw new AuthError('CONSOLE_CSRF', `request from origin ${origin}, not ${this.options.origin}`);
    const token = request.headers['x-csrf-token'];
    if (typeof token !== 'string' || token.length !== session.csrf.length || !timingSafeEqual(Buffer.from(token), Buffer.from(session.csrf))) {
      throw new AuthError('CONSOLE_CSRF', 'missing or wrong CSRF token (reload the page)');
    }
    return session;
  }

  cookie(session: Session): string {
    return `${SESSION_COOKIE}=${session.id}; HttpOnly; SameSite=Strict; Path=/${this.options.secure ? '; Secure' : ''}`;
  }
}
