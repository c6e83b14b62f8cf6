/**
 * Browser sessions without a session table: the cookie carries its role, expiry and a random
 * nonce, signed with a key derived from the role's current token. Replacing a token therefore ends
 * every session made with it, and a restart keeps the others. A logout remembers its nonce until
 * the session would have expired, so the cookie cannot be replayed.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ROLES, type Role } from './role.ts';

/** How long a login lasts (seconds): a month, as Grafana's longest login does. */
export const SESSION_SECONDS = 30 * 24 * 3600;

/** A session read back from its cookie. */
export interface Session {
  role: Role;
  /** Seconds since the epoch when it ends. */
  expires: number;
  nonce: string;
}

const COOKIE = /^(operator|viewer)\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function mac(token: string, payload: string): Buffer {
  // The key is the token's own digest under a purpose label: the token itself never signs anything else.
  const key = createHmac('sha256', token).update('posepipe page session v1').digest();
  return createHmac('sha256', key).update(payload).digest();
}

/** A new signed session value for `role`, whose token is `token`. */
export function signSession(role: Role, token: string, nowMs = Date.now()): { value: string; session: Session } {
  const expires = Math.floor(nowMs / 1000) + SESSION_SECONDS;
  const nonce = randomBytes(16).toString('base64url');
  const payload = `${role}.${expires}.${nonce}`;
  return { value: `${payload}.${mac(token, payload).toString('base64url')}`, session: { role, expires, nonce } };
}

/** The session a cookie value holds, if it is well formed, unexpired and signed with its role's current token. */
export function readSession(value: string | undefined, tokenOf: (role: Role) => string | undefined, nowMs = Date.now()): Session | undefined {
  const m = COOKIE.exec(value ?? '');
  if (!m) return undefined;
  const role = m[1] as Role;
  const token = tokenOf(role);
  if (token === undefined) return undefined;
  const expected = mac(token, `${m[1]}.${m[2]}.${m[3]}`);
  const given = Buffer.from(m[4]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const expires = Number(m[2]);
  return expires * 1000 > nowMs ? { role, expires, nonce: m[3]! } : undefined;
}

/** Which role a presented token is, compared in constant time (digests, so neither length nor content leaks). */
export function roleOfToken(given: string, tokenOf: (role: Role) => string | undefined): Role | undefined {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const a = digest(given);
  let found: Role | undefined;
  for (const role of ROLES) {
    const token = tokenOf(role);
    // Both roles are always compared, so the time taken does not say which one matched.
    if (token !== undefined && timingSafeEqual(a, digest(token)) && given.length > 0 && found === undefined) found = role;
  }
  return found;
}

/** Sessions ended by a logout, remembered until they would have expired; bounded, oldest forgotten first. */
export class EndedSessions {
  readonly #ended = new Map<string, number>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** Remember that `session` was logged out. */
  end(session: Session, nowMs = Date.now()): void {
    for (const [nonce, expires] of this.#ended) if (expires * 1000 <= nowMs) this.#ended.delete(nonce);
    while (this.#ended.size >= this.#max) this.#ended.delete(this.#ended.keys().next().value!);
    this.#ended.set(session.nonce, session.expires);
  }

  /** Whether `session` was logged out. */
  has(session: Session): boolean {
    return this.#ended.has(session.nonce);
  }
}
