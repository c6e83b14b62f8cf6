/** What the status page's routes share: their dependencies, the actions they report, and Hono's typing. */
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import type { RemoteDispatch } from '../scheduler/index.ts';
import type { PageAuth } from './auth/page-auth.ts';
import type { Who } from './auth/role.ts';

/** Something a user did on the page that the running pipeline may need to act on. */
export type ServerAction = { type: 'resume' | 'cancel' | 'retry' | 'priority' | 'rerun' | 'delete'; jobId: number; chunk?: number } | { type: 'pause' | 'unpause' };

/** What the app reads, whom it tells about actions, and how often live updates poll and beat. */
export interface AppDeps {
  db: Db;
  config: Config;
  /** The Host header values this server answers to (DNS-rebinding defence). */
  allowedHosts: () => string[];
  /** Called after every action that changed something (the pipeline wakes up, checks cancels). */
  onAction?: (action: ServerAction) => void;
  /** Live updates: a comment line this often keeps idle connections open (default 15000). */
  heartbeatMs?: number;
  /** Live updates: how often the database's change stamp is read (default 500). */
  pollMs?: number;
  /** Remote workers' endpoints (/worker/v1/…), when posepipe start has a Redis queue. */
  remote?: RemoteDispatch;
  /** The login (tokens, sessions, wrong-token throttle); undefined: the page is open, as on loopback by default. */
  auth?: PageAuth;
}

/** Hono's environment for our routes: `back` is the page a form action returns to, `who` the logged-in user (unset: no login asked). */
export interface ServerEnv {
  Variables: { back: string | undefined; who: Who | undefined };
}
