/**
 * The lease of each claimed attempt: a random secret handed to the worker that claimed it, which
 * every later call for the attempt must carry. Only digests are kept, compared in constant time;
 * an id never claimed here is compared against a dummy digest, so a miss costs what a hit does.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Leases remembered once their attempt ended (the oldest forgotten first): a late call with the right lease is told 409, not 403. */
const KEPT_ENDED = 10_000;
const NO_LEASE = createHash('sha256').update(randomBytes(32)).digest();

/** What a call's `x-posepipe-lease` is worth: the attempt is current and this is its lease, it was its lease but the attempt ended, or neither (a wrong lease, none, or an id not claimed here). */
export type LeaseCheck = 'current' | 'ended' | 'refused';

/** The leases of the attempts claimed since this coordinator started (they live in its memory). */
export class Leases {
  readonly #digests = new Map<number, Buffer>();

  /** A new lease for attempt `id`: 24 random bytes, base64url (32 characters). */
  issue(id: number, isCurrent: (id: number) => boolean): string {
    const lease = randomBytes(24).toString('base64url');
    this.#digests.set(id, digest(lease));
    for (const old of this.#digests.keys()) {
      if (this.#digests.size <= KEPT_ENDED) break;
      if (!isCurrent(old)) this.#digests.delete(old);
    }
    return lease;
  }

  /** Whether `lease` is attempt `id`'s; `current` says whether that attempt is still held. */
  check(id: number, lease: string | undefined, current: boolean): LeaseCheck {
    const want = this.#digests.get(id);
    const same = timingSafeEqual(digest(lease ?? ''), want ?? NO_LEASE);
    if (!same || want === undefined || !lease) return 'refused';
    return current ? 'current' : 'ended';
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
