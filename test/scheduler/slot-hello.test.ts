/** What a remote worker may say of its slots: bounded in number, in length and in characters, and in how many rows it can make. */
import { describe, expect, it } from 'vitest';
import { claimerProblem, MAX_HELLO_SLOTS, MAX_REMOTE_SLOTS, parseHello, slotsCapProblem, type SlotHello } from '../../src/scheduler/slot-hello.ts';

const slot = (name: string, extra: Partial<Record<keyof SlotHello, unknown>> = {}) => ({ name, host: 'gpu-1', health: 'ready', ...extra });

describe('parseHello', () => {
  it('takes up to 64 well-formed slots and refuses 65 with 413', () => {
    const slots = Array.from({ length: MAX_HELLO_SLOTS }, (_, i) => slot(`gpu-1:42#${i}`, i === 0 ? { health: 'unhealthy', error: 'CUDA error:\nout of memory', device: 'cuda:0' } : {}));
    expect(parseHello(slots)).toEqual({ slots });
    expect(parseHello([...slots, slot('one-more')])).toEqual({ status: 413, problem: 'a hello names at most 64 slots, not 65' });
  });

  it.each([
    [[slot('x'.repeat(101))], 'slots[0].name must be 1 to 100 characters, not 101'],
    [[slot('ok'), slot('')], 'slots[1].name must be 1 to 100 characters, not 0'],
    [[slot('tab\there')], 'slots[0].name holds a control or formatting character'],
    [[slot('rlo\u202Eexe.gpj')], 'slots[0].name holds a control or formatting character'],
    [[slot('ok', { host: 'h'.repeat(256) })], 'slots[0].host must be 1 to 255 characters, not 256'],
    [[slot('ok', { host: 7 })], 'slots[0].host must be a string'],
    [[slot('ok', { device: '' })], 'slots[0].device must be 1 to 100 characters, not 0'],
    [[slot('ok', { health: 'starting' })], 'slots[0].health must be ready, unhealthy or stopped'],
    [[slot('ok', { error: { html: '<b>' } })], 'slots[0].error must be a string'],
    [[null], 'slots[0] is not an object'],
    ['slots', 'a hello needs slots: [{name, host, health}]'],
  ])('refuses %j with 422: %s', (slots, problem) => {
    expect(parseHello(slots)).toEqual({ status: 422, problem });
  });

  it('checks a claiming worker the same way', () => {
    expect(claimerProblem('gpu-1:42#1', 'gpu-1', 'cuda:0')).toBeUndefined();
    expect(claimerProblem('a\u0000b', 'gpu-1', 'cuda:0')).toBe('worker.name holds a control or formatting character');
    expect(claimerProblem('ok', 'gpu-1', 'd'.repeat(101))).toBe('worker.ready.device must be 1 to 100 characters, not 101');
  });
});

describe('slotsCapProblem', () => {
  const names = (n: number, prefix = 'old') => new Set(Array.from({ length: n }, (_, i) => `worker ${prefix}-${i}`));
  it('lets known slots say hello at any count, and new ones only while the table has room', () => {
    const full = names(MAX_REMOTE_SLOTS);
    expect(slotsCapProblem(full, [slot('old-3') as SlotHello, slot('old-9') as SlotHello])).toBeUndefined();
    expect(slotsCapProblem(full, [slot('old-3') as SlotHello, slot('new-0') as SlotHello])).toMatch(/^the coordinator keeps at most 1024 remote slots \(1024 now\)/);
    expect(slotsCapProblem(names(MAX_REMOTE_SLOTS - 2), [slot('a') as SlotHello, slot('b') as SlotHello, slot('a') as SlotHello])).toBeUndefined();
    expect(slotsCapProblem(names(MAX_REMOTE_SLOTS - 2), [slot('a') as SlotHello, slot('b') as SlotHello, slot('c') as SlotHello])).toBeDefined();
  });
});
