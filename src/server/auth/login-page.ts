/** The login page: one token field, in the status page's look, with no script (the CSP allows none inline). */
import { escapeHtml, layout } from '../page.ts';

/** The login form; `next` is where a right token leads (already checked as a same-site path), `error` why the last try failed. */
export function loginPage(opts: { next: string; error?: string; status?: number }): string {
  const error = opts.error
    ? `<p class="err" id="login-error" role="alert"><span class="kind">${opts.status ?? 401}</span><span class="text">${escapeHtml(opts.error)}</span></p>`
    : '';
  const main = `<main data-page="login"><div class="card login"><h1>Log in</h1>
<p class="muted">This posepipe asks for a token before it shows its jobs.</p>${error}
<form method="post" action="/login" id="login-form"><input type="hidden" name="next" value="${escapeHtml(opts.next)}">
<label for="token">Token</label><input type="password" id="token" name="token" autocomplete="current-password" spellcheck="false" required autofocus>
<button type="submit">Log in</button></form>
<p class="muted">The token is in the login address <code>posepipe start</code> printed (<code>…/login?token=…</code>); on the machine posepipe runs on, <code>posepipe token</code> prints it, and <code>posepipe token --viewer</code> the read-only one.</p></div></main>`;
  return layout('posepipe: log in', main, '', { scripts: false });
}
