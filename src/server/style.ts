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

/**
 * Colours as variables, light first; a dark-preferring browser gets the dark set. Every colour the
 * sheet uses comes from here, so the two themes cannot drift apart.
 */
const THEMES = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff;--soft:#fafbfc;--accent:#2f6fde;
--btn:#fff;--btn-hover:#f0f3f8;--btn-line:#c8ced8;--track:#e9edf3;--lane:#f0f2f6;--kind-bg:#fde8e8;--kind-fg:#a61b1b;
--warn-bg:#fff8e1;--warn-line:#e3b341;--warn-fg:#8a5a00;--on-fg:#fff;--head:#1d2330;--head-sub:#aab3c5}
@media (prefers-color-scheme:dark){:root{--fg:#e3e8f0;--muted:#98a2b3;--line:#2e3645;--bg:#0f131a;--card:#171c25;--soft:#1c2230;--accent:#6c9cf0;
--btn:#1f2633;--btn-hover:#283142;--btn-line:#3a4456;--track:#2a3240;--lane:#222a37;--kind-bg:#4a1f22;--kind-fg:#ffb3b3;
--warn-bg:#332a12;--warn-line:#8a6d1f;--warn-fg:#f0c36a;--on-fg:#0f131a;--head:#0a0d12;--head-sub:#8792a6}
#track-timeline text{fill:var(--fg)}#track-timeline g.axis text{fill:var(--muted)}}`;

/**
 * Narrow screens (a phone is about 390 px): the jobs table becomes one card per job with labelled
 * cells, the other tables scroll inside their own box, and nothing makes the page scroll sideways.
 */
const NARROW = `
@media (max-width:700px){
header.top{flex-wrap:wrap;padding:.6rem .8rem;gap:.5rem}
main{padding:.8rem .6rem 2rem}
#upload,#notice{width:calc(100% - 1.2rem)}
.card{padding:.6rem}
table#jobs,table#jobs tbody{display:block}
table#jobs thead{display:none}
table#jobs tr{display:grid;grid-template-columns:auto minmax(0,1fr);gap:.15rem .6rem;padding:.5rem .2rem;border-bottom:1px solid var(--line)}
table#jobs td{display:block;border:0;padding:0;min-width:0;max-width:none}
table#jobs td.name{grid-column:2}
table#jobs td[data-label]:not(.name):not(.id){grid-column:1 / -1;display:flex;gap:.5rem;align-items:baseline}
table#jobs td[data-label]:not(.name):not(.id)::before{content:attr(data-label);flex:0 0 4.5rem;font-size:11px;text-transform:uppercase;color:var(--muted)}
table#jobs td[data-label]{text-align:left;white-space:normal}
table#jobs td.blank[data-label]:not(.name):not(.id){display:none}
table#jobs td .bar{flex:1;min-width:0}
#stages .lane{grid-template-columns:4.5rem minmax(0,1fr) 4.5rem}
dl.facts{grid-template-columns:repeat(auto-fill,minmax(8rem,1fr))}
.player-controls input[type=range]{min-width:8rem}
nav.pager .total{margin-left:0;flex-basis:100%}
}`;

/** The whole sheet. */
export const STYLE = `${THEMES}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;align-items:center;gap:1rem;padding:.7rem 1.5rem;background:var(--head);color:#fff}
header.top a{color:#fff;text-decoration:none;font-weight:600;font-size:16px}
header.top .sub{color:var(--head-sub);font-size:13px}
header.top .who{margin-left:auto;color:var(--head-sub);font-size:13px}
header.top form.logout button{padding:.15rem .7rem;background:transparent;color:#fff;border-color:#4a5468}
header.top form.logout button:hover{background:#2c3445}
body[data-role=viewer] form.inline,body[data-role=viewer] details.confirm,body[data-role=viewer] #bulk-bar,body[data-role=viewer] input[data-select]{display:none}
.card.login{max-width:26rem;margin:3rem auto}
.login code{white-space:nowrap}
.login label{display:block;font-weight:600;margin:.8rem 0 .3rem}
.login input[type=password]{width:100%;font:inherit;padding:.45rem .6rem;border:1px solid var(--btn-line);border-radius:6px;background:var(--btn);color:var(--fg)}
.login button[type=submit]{margin-top:.8rem;border-color:var(--accent);background:var(--accent);color:#fff}
main{max-width:1200px;margin:0 auto;padding:1.2rem 1.5rem 3rem}
h1{font-size:20px;margin:.2rem 0 .6rem;overflow-wrap:anywhere}
h2{font-size:15px;margin:1.6rem 0 .6rem;color:var(--fg)}
a{color:var(--accent)}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:.8rem 0}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem}
.grow{flex:1}
.muted{color:var(--muted)}
.queue>span{white-space:nowrap}
.mono,pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{padding:.45rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);background:var(--soft)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.name{min-width:11rem;max-width:28rem;overflow-wrap:break-word}
table#jobs td[data-label=Actions]{min-width:5.5rem}
#list-search{margin:0 0 .8rem;gap:.4rem}
#list-search input[type=search]{flex:1 1 14rem;min-width:0;max-width:28rem}
#list-search input[type=search],#list-search select{font:inherit;padding:.3rem .5rem;border:1px solid var(--btn-line);border-radius:6px;background:var(--btn);color:var(--fg)}
th[data-sort] a{color:inherit;text-decoration:none}th[aria-sort] a{color:var(--fg)}
td.when{font-size:12px;color:var(--muted);font-variant-numeric:tabular-nums}
#chunks tr.detail .err{position:sticky;left:.6rem;max-width:calc(100vw - 6rem)}
.fname{overflow-wrap:break-word}
.scroll{overflow-x:auto;max-width:100%}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:12px;font-weight:600;color:#fff;background:var(--c,#8a94a6);white-space:nowrap}
.kind{display:inline-block;padding:0 .4rem;border-radius:4px;font-size:11px;font-weight:700;text-transform:uppercase;background:var(--kind-bg);color:var(--kind-fg);margin-right:.4rem}
.bar{display:flex;align-items:center;gap:.5rem;min-width:9rem}
progress{flex:1;height:.6rem;min-width:6rem;appearance:none;border:0;border-radius:999px;background:var(--track);overflow:hidden}
progress::-webkit-progress-bar{background:var(--track);border-radius:999px}
progress::-webkit-progress-value{background:var(--c,var(--accent));border-radius:999px}
progress::-moz-progress-bar{background:var(--c,var(--accent));border-radius:999px}
progress.big{height:.9rem}
.tabs{display:flex;flex-wrap:wrap;gap:.3rem;margin:.4rem 0 .8rem}
.tabs a{padding:.3rem .7rem;border-radius:999px;border:1px solid var(--line);background:var(--card);text-decoration:none;color:var(--fg)}
.tabs a[aria-current]{background:var(--fg);color:var(--on-fg);border-color:var(--fg)}
.tabs .n{color:var(--muted);margin-left:.3rem}.tabs a[aria-current] .n{color:var(--on-fg);opacity:.75}
nav.pager{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem;margin:.8rem 0}
nav.pager a,nav.pager span.cur{padding:.2rem .55rem;border-radius:4px;border:1px solid var(--line);background:var(--card);text-decoration:none}
nav.pager span.cur{background:var(--fg);color:var(--on-fg)}
nav.pager .total{margin-left:auto;color:var(--muted)}
form.inline{display:inline}
button{font:inherit;cursor:pointer;padding:.3rem .8rem;border-radius:6px;border:1px solid var(--btn-line);background:var(--btn);color:var(--fg)}
button:hover{background:var(--btn-hover)}
button[data-action=resume],button[data-action=retry],button[data-action=unpause]{border-color:var(--accent);color:var(--accent)}
button[data-action=cancel],button[data-action=pause],details.confirm>summary{border-color:var(--warn-line);color:var(--warn-fg)}
.err{margin:.3rem 0}
.err .text{white-space:pre-wrap;overflow-wrap:anywhere}
.err .advice{color:var(--muted);font-size:13px;margin-top:.2rem}
details summary{cursor:pointer;color:var(--muted);font-size:12px}
pre{background:#10151f;color:#dfe6f1;padding:.7rem;border-radius:6px;overflow:auto;max-height:24rem;white-space:pre-wrap;word-break:break-word}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.6rem;margin:0}
dl.facts div{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:.4rem .6rem}
dl.facts dt{font-size:11px;text-transform:uppercase;color:var(--muted)}dl.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
#stages .lane{display:grid;grid-template-columns:6rem 1fr 6rem;align-items:center;gap:.6rem;padding:.2rem 0}
#stages .track{position:relative;height:1.1rem;background:var(--lane);border-radius:4px}
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
.banner.paused{border-color:var(--warn-line);background:var(--warn-bg)}
.player-stage{position:relative;max-width:960px;background:#111;border-radius:4px;overflow:hidden}
.player-stage video,.player-blank{display:block;width:100%;height:100%;object-fit:fill}
.player-stage canvas{position:absolute;left:0;top:0;width:100%;height:100%;cursor:crosshair}
.player-views{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-start}
.player-views>.player-stage{flex:1 1 20rem;min-width:0}
.view3d{position:relative;flex:1 1 20rem;min-width:0;background:#14181f;color:#e3e8f0;border-radius:4px;overflow:hidden}
.view3d>p{margin:.6rem}
.view3d canvas{display:block;width:100%;height:100%;cursor:grab;touch-action:none}
.view3d .v3-bar{position:absolute;right:.4rem;top:.4rem;display:flex;gap:.3rem}
.view3d .v3-bar button{padding:.1rem .45rem;font-size:12px}
.view3d .v3-help{position:absolute;left:.5rem;bottom:.3rem;color:#98a2b3;font-size:12px;pointer-events:none}
.view3d .v3-label{position:absolute;transform:translate(-50%,-100%);font:12px sans-serif;padding:0 3px;border-radius:3px;background:rgba(0,0,0,.7);pointer-events:none;white-space:nowrap}
.player-controls{gap:.5rem;margin:.6rem 0;flex-wrap:wrap}
.player-controls input[type=range]{flex:1;min-width:12rem}
.player-tracks{display:flex;flex-wrap:wrap;gap:.3rem}
.player-track{border:2px solid;background:none;color:var(--fg);border-radius:4px;padding:.1rem .4rem;font:inherit;cursor:pointer}
.player-track.on{background:var(--fg);color:var(--on-fg)}
#track-timeline g.track.on rect{stroke:var(--fg);stroke-width:1.5}
details.confirm{display:inline-block;vertical-align:top}
details.confirm>summary{list-style:none;display:inline-block;cursor:pointer;padding:.3rem .8rem;border-radius:6px;border:1px solid var(--btn-line);background:var(--btn);font-size:inherit}
details.confirm>summary::-webkit-details-marker{display:none}
details.confirm[open]>summary{background:var(--btn-hover)}
details.confirm .ask{display:block;margin-top:.35rem;padding:.5rem .6rem;min-width:14rem;max-width:20rem;border:1px solid var(--warn-line);border-radius:6px;background:var(--warn-bg);color:var(--fg);white-space:normal;font-size:13px}
details.confirm .ask p{margin:0 0 .4rem}
#notice{max-width:calc(1200px - 3rem);width:calc(100% - 3rem);margin:1rem auto 0;display:flex;gap:.6rem;align-items:baseline;padding:.6rem .9rem;border-radius:8px;border:1px solid var(--warn-line);background:var(--warn-bg)}
#notice .text{flex:1;overflow-wrap:anywhere}
#upload-list{list-style:none;margin:.4rem 0 0;padding:0;flex-basis:100%}
#upload-list li{display:flex;flex-wrap:wrap;gap:.2rem .6rem;align-items:center;padding:.25rem 0;border-top:1px solid var(--line)}
#upload-list .fname{font-weight:600;min-width:0;flex:0 1 auto}
#upload-list progress{flex:0 0 8rem;min-width:0}
#upload-list .said{flex:1 1 12rem;color:var(--muted);overflow-wrap:anywhere}
#upload-list li[data-result=refused] .said{color:var(--kind-fg)}
#upload-list li[data-result=done] .said,#upload-list li[data-result=renamed] .said{color:var(--fg)}
${STATES}${NARROW}`;
