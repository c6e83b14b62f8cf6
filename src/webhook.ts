/**
 * The optional webhook: a small JSON POSTed to `webhookUrl` when a job is done or failed, so an
 * app hears about results without polling. Delivery is best effort and never touches the job: a
 * few attempts with backoff, each with a timeout, and a log line when it gives up.
 */
import type { PipelineEvent } from './scheduler/index.ts';

/** What the webhook says about a job. */
export interface WebhookPayload {
  event: 'job.done' | 'job.failed';
  job: {
    id: number;
    name: string;
    state: 'done' | 'failed';
    /** The output JSON's path (done jobs), else null. */
    output: string | null;
    error: { kind: string; text: string } | null;
    frames: number | null;
    trackerSeconds: number;
    seconds: number | null;
  };
}

/** How the webhook is set up; `describe` builds the payload's job from the database. */
export interface WebhookOptions {
  url: string;
  describe: (jobId: number) => WebhookPayload['job'] | undefined;
  log: (line: string) => void;
  attempts?: number;
  timeoutMs?: number;
  backoffMs?: number;
}

/** A webhook sender: feed it pipeline events; `flush()` waits for deliveries still under way. */
export interface Webhook {
  onEvent(event: PipelineEvent): void;
  flush(): Promise<void>;
}

/** Create the sender for `url`. */
export function createWebhook(opts: WebhookOptions): Webhook {
  const attempts = opts.attempts ?? 3;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const backoffMs = opts.backoffMs ?? 1000;
  const inFlight = new Set<Promise<void>>();

  async function deliver(payload: WebhookPayload): Promise<void> {
    const body = JSON.stringify(payload);
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await fetch(opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'posepipe' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
        await res.body?.cancel();
        if (res.ok) return;
        last = `HTTP ${res.status}`;
        // A 4xx other than 408/429 will not get better by trying again.
        if (res.status < 500 && res.status !== 408 && res.status !== 429) break;
      } catch (error) {
        last = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (error as Error).message;
      }
      if (attempt < attempts) await new Promise((r) => setTimeout(r, backoffMs * 4 ** (attempt - 1)));
    }
    opts.log(`webhook: POST ${opts.url} for job ${payload.job.id} (${payload.event}) failed: ${last}`);
  }

  return {
    onEvent(event) {
      if (event.type !== 'job' || (event.state !== 'done' && event.state !== 'failed')) return;
      const job = opts.describe(event.jobId);
      if (!job) return;
      const p = deliver({ event: event.state === 'done' ? 'job.done' : 'job.failed', job }).finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    async flush() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
