/**
 * The order the test files start in: the slowest first (as measured on 2 cores), so that no long
 * file starts last and runs on alone while the other worker waits. Vitest's own order does this
 * from its cache of earlier runs, which a fresh clone (CI) does not have: it would go by file size.
 * Within each project, by group; files not named here keep vitest's order, after these.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Slowest first, from a fresh clone's run (seconds beside each, two files at a time). */
const SLOW_FIRST = [
  'test/e2e/remote.test.ts', // 84
  'test/e2e/long-output.test.ts', // 71
  'test/e2e/faults.test.ts', // 63 (timing)
  'test/tracker/builtin.test.ts', // 60
  'test/e2e/crash-points.test.ts', // 59
  'test/stages/chunk.test.ts', // 56
  'test/e2e/backends.test.ts', // 47
  'test/e2e/chaos.test.ts', // 46
  'test/e2e/status-page.test.ts', // 46
  'test/e2e/street-people.test.ts', // 42
  'test/e2e/slots.test.ts', // 46
  'test/tracker/phalp.test.ts', // 44
  'test/e2e/actions.test.ts', // 31
  'test/media/frame-times.test.ts', // 25
  'test/tracker/keypoints.test.ts', // 30
  'test/tracker/worker-limits.test.ts', // 20 (timing)
  'test/e2e/remote-results.test.ts', // 17 (timing)
];

function rank(spec: TestSpecification): number {
  const at = SLOW_FIRST.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
  return at < 0 ? SLOW_FIRST.length : at;
}

/** Vitest's order (groups, projects), the files of SLOW_FIRST moved to the front of theirs. */
export default class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const position = new Map(sorted.map((spec, i) => [spec, i]));
    const group = (spec: TestSpecification) => `${String(spec.project.config.sequence.groupOrder).padStart(4, '0')} ${spec.project.name}`;
    return [...sorted].sort((a, b) => (group(a) < group(b) ? -1 : group(a) > group(b) ? 1 : rank(a) - rank(b) || position.get(a)! - position.get(b)!));
  }
}
