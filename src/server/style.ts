/**
 * The pages' one style sheet, inline in a style element (the CSP allows inline styles, not
 * scripts): no external resources, so the page works on a machine with no network.
 */

/** Colour per job, stage and chunk state, used by badges, bars, cells and the timeline. */
const STATES = `
[data-state=queued],[data-state=pending],.s-queued,.s-pending{--c:#8a94a6}
[data-state=running],.s-running{--c:#2f6fde}
[data-state=done],.s-done{--c:#2e9e5b}
[data-state=failed],.s-failed{--c:#d64545}
[data-state=cancelled],.s-cancelled{--c:#b08a2e}`;

/** The whole sheet. */
export const STYLE = `
:root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff;--accent:#2f6fde}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;align-items:center;gap:1rem;padding:.7rem 1.5rem;background:#1d2330;color:#fff}
header.top a{color:#fff;text-decoration:none;font-weight:600;font-size:16px}
header.top .sub{color:#aab3c5;font-size:13px}
header.top .who{margin-left:auto;color:#aab3c5;font-size:13px}
header.top form.logout button{padding:.15rem .7rem;background:transparent;color:#fff;border-color:#4a5468}
header.top form.logout button:hover{background:#2c3445}
body[data-role=viewer] form.inline{display:none}
.card.login{max-width:26rem;margin:3rem auto}
.login code{white-space:nowrap}
.login label{display:block;font-weight:600;margin:.8rem 0 .3rem}
.login input[type=password]{width:100%;font:inherit;padding:.45rem .6rem;border:1px solid #c8ced8;border-radius:6px}
.login button[type=submit]{margin-top:.8rem;border-color:var(--accent);background:var(--accent);color:#fff}
main{max-width:1200px;margin:0 auto;padding:1.2rem 1.5rem 3rem}
h1{font-size:20px;margin:.2rem 0 .6rem;word-break:break-word}
h2{font-size:15px;margin:1.6rem 0 .6rem;color:#344054}
a{color:var(--accent)}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:.8rem 0}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem}
.grow{flex:1}
.muted{color:var(--muted)}
.mono,pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{padding:.45rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.name{max-width:28rem;word-break:break-word}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:12px;font-weight:600;color:#fff;background:var(--c,#8a94a6);white-space:nowrap}
.kind{display:inline-block;padding:0 .4rem;border-radius:4px;font-size:11px;font-weight:700;text-transform:uppercase;background:#fde8e8;color:#a61b1b;margin-right:.4rem}
.bar{display:flex;align-items:center;gap:.5rem;min-width:9rem}
progress{flex:1;height:.6rem;min-width:6rem;appearance:none;border:0;border-radius:999px;background:#e9edf3;overflow:hidden}
progress::-webkit-progress-bar{background:#e9edf3;border-radius:999px}
progress::-webkit-progress-value{background:var(--c,var(--accent));border-radius:999px}
progress::-moz-progress-bar{background:var(--c,var(--accent));border-radius:999px}
progress.big{height:.9rem}
.tabs{display:flex;flex-wrap:wrap;gap:.3rem;margin:.4rem 0 .8rem}
.tabs a{padding:.3rem .7rem;border-radius:999px;border:1px solid var(--line);background:var(--card);text-decoration:none;color:var(--fg)}
.tabs a[aria-current]{background:var(--fg);color:#fff;border-color:var(--fg)}
.tabs .n{color:var(--muted);margin-left:.3rem}.tabs a[aria-current] .n{color:#cfd5e1}
nav.pager{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem;margin:.8rem 0}
nav.pager a,nav.pager span.cur{padding:.2rem .55rem;border-radius:4px;border:1px solid var(--line);background:var(--card);text-decoration:none}
nav.pager span.cur{background:var(--fg);color:#fff}
nav.pager .total{margin-left:auto;color:var(--muted)}
form.inline{display:inline}
button{font:inherit;cursor:pointer;padding:.3rem .8rem;border-radius:6px;border:1px solid #c8ced8;background:#fff}
button:hover{background:#f0f3f8}
button[data-action=resume],button[data-action=retry],button[data-action=unpause]{border-color:#2f6fde;color:#2f6fde}
button[data-action=cancel],button[data-action=pause]{border-color:#c27a00;color:#8a5a00}
.err{margin:.3rem 0}
.err .text{white-space:pre-wrap;word-break:break-word}
.err .advice{color:var(--muted);font-size:13px;margin-top:.2rem}
details summary{cursor:pointer;color:var(--muted);font-size:12px}
pre{background:#10151f;color:#dfe6f1;padding:.7rem;border-radius:6px;overflow:auto;max-height:24rem;white-space:pre-wrap;word-break:break-word}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.6rem;margin:0}
dl.facts div{background:#fafbfc;border:1px solid var(--line);border-radius:6px;padding:.4rem .6rem}
dl.facts dt{font-size:11px;text-transform:uppercase;color:var(--muted)}dl.facts dd{margin:0;font-weight:600;word-break:break-all}
#stages .lane{display:grid;grid-template-columns:6rem 1fr 6rem;align-items:center;gap:.6rem;padding:.2rem 0}
#stages .track{position:relative;height:1.1rem;background:#f0f2f6;border-radius:4px}
#stages .seg{position:absolute;top:0;bottom:0;min-width:3px;border-radius:4px;background:var(--c)}
#stages .t{text-align:right;font-variant-numeric:tabular-nums;color:var(--muted)}
#chunk-grid{display:flex;flex-wrap:wrap;gap:2px;margin:.4rem 0}
#chunk-grid i{display:block;width:12px;height:12px;border-radius:2px;background:var(--c)}
#chunk-grid i[data-state=running]{outline:2px solid #9dbcf5}
.legend{display:flex;gap:.8rem;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;background:var(--c);margin-right:.25rem}
.banner{padding:.7rem 1rem;border-radius:8px;border:1px solid var(--line);background:var(--card)}
.banner.dropping{border-color:var(--accent);border-style:dashed}
#upload{max-width:calc(1200px - 3rem);width:calc(100% - 3rem);margin:1.2rem auto 0;box-sizing:border-box}
#upload progress{max-width:12rem}
.banner.paused{border-color:#e3b341;background:#fff8e1}
.player-stage{position:relative;max-width:960px;background:#111;border-radius:4px;overflow:hidden}
.player-stage video,.player-blank{display:block;width:100%;height:100%;object-fit:fill}
.player-stage canvas{position:absolute;left:0;top:0;width:100%;height:100%;cursor:crosshair}
.player-controls{gap:.5rem;margin:.6rem 0;flex-wrap:wrap}
.player-controls input[type=range]{flex:1;min-width:12rem}
.player-tracks{display:flex;flex-wrap:wrap;gap:.3rem}
.player-track{border:2px solid;background:none;border-radius:4px;padding:.1rem .4rem;font:inherit;cursor:pointer}
.player-track.on{background:#1d2330;color:#fff}
#track-timeline g.track.on rect{stroke:#1d2330;stroke-width:1.5}
${STATES}`;
