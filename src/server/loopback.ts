/** The listen addresses that are this machine only. */
export const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

/** Whether a listen address is this machine only. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.includes(host);
}
