/**
 * What a remote worker may say of its slots (a hello, or the worker in a claim), checked before it
 * reaches the workers table and the page: a bounded number of slots, names, hosts and devices of
 * bounded length without control or formatting characters. Anything else is refused whole, naming
 * the field, rather than cut to fit (two cut names could become one row).
 */

/** Slots one hello may name: more than any machine has GPUs. */
export const MAX_HELLO_SLOTS = 64;
/** Remote slots the workers table keeps at once: a new name beyond this is refused until silent ones expire. */
export const MAX_REMOTE_SLOTS = 1024;
const MAX_NAME = 100;
const MAX_HOST = 255;
const MAX_DEVICE = 100;
const HEALTHS = ['ready', 'unhealthy', 'stopped'] as const;

/** What a worker's hello says of one of its slots that tracks nothing. */
export interface SlotHello {
  name: string;
  host: string;
  device?: string;
  health: (typeof HEALTHS)[number];
  error?: string;
}

/** Why a name, host or device cannot be shown, naming the field; undefined when it can. */
function textProblem(value: unknown, field: string, max: number): string | undefined {
  if (typeof value !== 'string') return `${field} must be a string`;
  if (value.length === 0 || value.length > max) return `${field} must be 1 to ${max} characters, not ${value.length}`;
  if (/[\p{Cc}\p{Cf}]/u.test(value)) return `${field} holds a control or formatting character`;
  return undefined;
}

/** Why a claiming worker's name, host or device is refused; undefined when they are fine. */
export function claimerProblem(name: string, host: string, device: string): string | undefined {
  return textProblem(name, 'worker.name', MAX_NAME) ?? textProblem(host, 'worker.host', MAX_HOST) ?? textProblem(device, 'worker.ready.device', MAX_DEVICE);
}

/** A hello's slots, checked: the slots, or the HTTP status and the problem (413 past MAX_HELLO_SLOTS, 422 for a bad field). */
export function parseHello(slots: unknown): { slots: SlotHello[] } | { status: 413 | 422; problem: string } {
  if (!Array.isArray(slots)) return { status: 422, problem: 'a hello needs slots: [{name, host, health}]' };
  if (slots.length > MAX_HELLO_SLOTS) return { status: 413, problem: `a hello names at most ${MAX_HELLO_SLOTS} slots, not ${slots.length}` };
  const said: SlotHello[] = [];
  for (const [i, s] of (slots as Partial<Record<keyof SlotHello, unknown>>[]).entries()) {
    const problem =
      (s === null || typeof s !== 'object' ? `slots[${i}] is not an object` : undefined) ??
      textProblem(s.name, `slots[${i}].name`, MAX_NAME) ??
      textProblem(s.host, `slots[${i}].host`, MAX_HOST) ??
      (s.device === undefined ? undefined : textProblem(s.device, `slots[${i}].device`, MAX_DEVICE)) ??
      (HEALTHS.includes(s.health as SlotHello['health']) ? undefined : `slots[${i}].health must be ready, unhealthy or stopped`) ??
      (s.error === undefined || typeof s.error === 'string' ? undefined : `slots[${i}].error must be a string`);
    if (problem) return { status: 422, problem };
    said.push(s as SlotHello);
  }
  return { slots: said };
}

/** Why a hello's slots cannot be added beside the `known` remote rows (names `worker …`): past MAX_REMOTE_SLOTS, new names wait until silent ones expire. */
export function slotsCapProblem(known: ReadonlySet<string>, slots: readonly SlotHello[], cap = MAX_REMOTE_SLOTS): string | undefined {
  const added = new Set(slots.map((s) => `worker ${s.name}`).filter((n) => !known.has(n))).size;
  if (added === 0 || known.size + added <= cap) return undefined;
  return `the coordinator keeps at most ${cap} remote slots (${known.size} now); new ones are taken once silent ones expire`;
}
