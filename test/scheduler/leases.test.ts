/** An attempt's lease: only its own secret passes, any other caller hears the same 'refused' for every id. */
import { describe, expect, it } from 'vitest';
import { Leases } from '../../src/scheduler/leases.ts';

describe('Leases', () => {
  it('issues a distinct 32-character secret per attempt and takes only that one', () => {
    const leases = new Leases();
    const a = leases.issue(1, () => true);
    const b = leases.issue(2, () => true);
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(b).not.toBe(a);
    expect(leases.check(1, a, true)).toBe('current');
    expect(leases.check(1, a, false)).toBe('ended');
    for (const wrong of [undefined, '', b, `${a}x`, a.slice(0, 31), a.toLowerCase() === a ? a.toUpperCase() : a.toLowerCase()]) {
      expect(leases.check(1, wrong, true), String(wrong)).toBe('refused');
    }
    // An id never claimed: refused like a wrong lease, whatever is sent.
    expect(leases.check(3, a, true)).toBe('refused');
    expect(leases.check(3, undefined, false)).toBe('refused');
  });

  it('forgets the oldest ended attempts past 10,000, never a current one', () => {
    const leases = new Leases();
    const first = leases.issue(1, () => true);
    const second = leases.issue(2, () => true);
    // Attempt 1 stays current; every other one has ended.
    for (let id = 3; id <= 10_002; id++) leases.issue(id, (old) => old === 1);
    expect(leases.check(1, first, true)).toBe('current');
    expect(leases.check(2, second, false)).toBe('refused');
  });
});
