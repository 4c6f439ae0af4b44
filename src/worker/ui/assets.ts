/**
 * The UI's only assets: one stylesheet and one small script (copy buttons), served by the Worker itself
 * from /static/ so the Content-Security-Policy can allow 'self' and nothing else. No fonts, images or
 * third-party files: the system font stack and CSS colours, light and dark from the browser's setting.
 */

export const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#5b6570;--line:#d8dee4;--soft:#f4f6f8;--accent:#0b5cad;--accent-fg:#fff;--danger:#b42318;--ok:#1a7f37;--code:#f1f3f5}
@media (prefers-color-scheme:dark){:root{--bg:#0f1317;--fg:#e6e9ec;--muted:#9aa5b1;--line:#2c343c;--soft:#171c21;--accent:#5aa9f5;--accent-fg:#07121d;--danger:#f27266;--ok:#57c47a;--code:#1c2228}}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;background:var(--bg);color:var(--fg)}
body{margin:0}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;padding:.6rem 1.25rem;border-bottom:1px solid var(--line);background:var(--soft)}
header.top .brand{font-weight:700;font-size:1.1rem;text-decoration:none;color:var(--fg)}
header.top nav{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin-left:auto}
header.top form{margin:0}
main{max-width:72rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.5rem;margin:.6rem 0 .8rem;word-break:break-word}
h2{font-size:1.15rem;margin:1.8rem 0 .6rem}
.crumbs{font-size:.9rem;color:var(--muted);margin-top:.6rem;word-break:break-all}
.muted{color:var(--muted)}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.45rem .7rem;border-bottom:1px solid var(--line);vertical-align:top}
tr:last-child td{border-bottom:0}
th{background:var(--soft);font-weight:600;white-space:nowrap}
tfoot th,tfoot td{background:var(--soft);border-top:1px solid var(--line)}
details.more{margin:.6rem 0}
details.more summary{font-weight:600;margin-bottom:.5rem}
td.num,th.num{text-align:right;white-space:nowrap}
code,pre{font:.86rem/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);border-radius:4px}
code{padding:.05rem .3rem;word-break:break-all}
pre{padding:.6rem .8rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;word-break:break-word}
form.search{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center;margin:.2rem 0 1rem}
input[type=search],input[type=text],input[type=password]{font:inherit;padding:.4rem .6rem;border:1px solid var(--line);border-radius:5px;background:var(--bg);color:var(--fg);min-width:16rem;max-width:100%}
button,.button{font:inherit;padding:.38rem .8rem;border:1px solid var(--line);border-radius:5px;background:var(--soft);color:var(--fg);cursor:pointer;text-decoration:none;display:inline-block}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-fg)}
button.danger,.button.danger{border-color:var(--danger);color:var(--danger);background:transparent}
button.danger.solid{background:var(--danger);color:var(--bg)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
a.danger{color:var(--danger)}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:var(--bg);padding:.3rem .6rem;z-index:1}
.pager{display:flex;gap:1rem;align-items:center;margin:.8rem 0}
.cmds{display:grid;gap:.4rem}
.cmd{display:flex;gap:.5rem;align-items:center}
.cmd .tool{min-width:4.5rem;color:var(--muted);font-size:.85rem}
.cmd code{flex:1;padding:.35rem .5rem}
.cmd button{padding:.2rem .6rem;font-size:.85rem}
.cmd.block{align-items:flex-start}
.cmd pre{flex:1;margin:0}
.cmd pre code{padding:0;background:none}
.badge{display:inline-block;font-size:.78rem;padding:.05rem .45rem;border:1px solid var(--line);border-radius:99px;color:var(--muted);white-space:nowrap}
.notice{padding:.7rem .9rem;border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:5px;background:var(--soft);margin:1rem 0}
.notice.error{border-left-color:var(--danger)}
.signin{max-width:26rem;display:grid;gap:.7rem}
.signin label{display:grid;gap:.2rem}
fieldset{border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem}
details summary{cursor:pointer}
@media (max-width:40rem){main{padding:.8rem .7rem 2rem}header.top nav{margin-left:0}input[type=search],input[type=text],input[type=password]{min-width:0;width:100%}.cmd{flex-wrap:wrap}.cmd .tool{min-width:100%}}
`;

/** Copy buttons: each `button[data-copy]` (hidden until this script runs) copies its text. */
export const SCRIPT = `
document.querySelectorAll("button[data-copy]").forEach(function (b) {
  b.hidden = false;
  b.addEventListener("click", function () {
    var text = b.getAttribute("data-copy");
    var done = function () { var t = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = t; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(b); });
    } else select(b);
  });
});
function select(b) {
  var code = b.parentNode.querySelector("code");
  if (!code) return;
  var r = document.createRange(); r.selectNodeContents(code);
  var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
}
`;

export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b5cad"/><path d="M8 3v9M5 5h6M3.5 9.5Q4 13 8 13t4.5-3.5" stroke="#fff" stroke-width="1.6" fill="none" stroke-linecap="round"/></svg>`;

export const ASSETS: Record<string, { type: string; body: string }> = {
  "favicon.svg": { type: "image/svg+xml", body: FAVICON },
  "wharf.css": { type: "text/css; charset=utf-8", body: STYLE },
  "copy.js": { type: "text/javascript; charset=utf-8", body: SCRIPT },
};
