import { join } from 'node:path';
import type { Config } from './config.ts';

/** The folder a job's files live in: `<home>/jobs/<id>`. */
export function jobDir(config: Config, jobId: number): string {
  return join(config.home, 'jobs', String(jobId));
}
