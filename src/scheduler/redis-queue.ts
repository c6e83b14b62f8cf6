/** The BullMQ queue that offers chunks to remote workers: its name, what an offer carries, and how to reach Redis. */

/** The BullMQ queue the offers go on. */
export const QUEUE_NAME = 'posepipe-chunks';
/** What an offer on the queue carries: which chunk (by its first frame, which splits never change). */
export interface Offer {
  jobId: number;
  firstFrame: number;
}

/** ioredis connection options from a redis:// URL (BullMQ's workers need maxRetriesPerRequest null). */
export function redisConnection(url: string): { host: string; port: number; username?: string; password?: string; db?: number; tls?: object; maxRetriesPerRequest: null } {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}
