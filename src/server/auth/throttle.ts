/**
 * Wrong tokens slowed per client: after `max` wrong tries within `windowMs`, every try from that
 * client is answered 429 without being checked, until the oldest wrong try leaves the window. A
 * right token does not clear the count (else a viewer could keep guessing the operator's token).
 */

/** The key a client is counted under: its IPv4 address, or the /64 of an IPv6 one (one host's usual share). */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const full = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${full.slice(0, 4).map((h) => h.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** The wrong-token counter of one server. */
export class WrongTokenThrottle {
  readonly #fails = new Map<string, number[]>();
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxClients: number;

  constructor(opts: { max?: number; windowMs?: number; maxClients?: number } = {}) {
    this.#max = opts.max ?? 5;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#maxClients = opts.maxClients ?? 10_000;
  }

  /** Seconds `client` must wait before its next try is checked; 0 when it may try now. */
  retryAfter(client: string, nowMs = Date.now()): number {
    const fails = this.#recent(client, nowMs);
    if (fails.length < this.#max) return 0;
    return Math.max(1, Math.ceil((fails[fails.length - this.#max]! + this.#windowMs - nowMs) / 1000));
  }

  /** Count a wrong try by `client`. */
  fail(client: string, nowMs = Date.now()): void {
    const fails = this.#recent(client, nowMs);
    if (!this.#fails.has(client)) {
      // Bounded: forget clients whose tries have all left the window, then the longest-known ones.
      if (this.#fails.size >= this.#maxClients) for (const key of [...this.#fails.keys()]) if (this.#recent(key, nowMs).length === 0) this.#fails.delete(key);
      while (this.#fails.size >= this.#maxClients) this.#fails.delete(this.#fails.keys().next().value!);
    }
    fails.push(nowMs);
    this.#fails.set(client, fails.slice(-this.#max));
  }

  #recent(client: string, nowMs: number): number[] {
    const all = this.#fails.get(client);
    if (!all) return [];
    const recent = all.filter((t) => t > nowMs - this.#windowMs);
    if (recent.length === 0) this.#fails.delete(client);
    else if (recent.length !== all.length) this.#fails.set(client, recent);
    return recent;
  }
}
