/** GET / : the repositories the visitor may pull, with a search box, pages, tag counts, latest tag and last push. */
import type { UiHandler, UiContext } from "../context";
import { seal, unseal } from "../cursor";
import { repoSummary, visibleRepositories } from "../data";
import { ago, bytes, when } from "../format";
import { html, href } from "../html";
import { page } from "../layout";

export const REPOS_PER_PAGE = 20;

export const repositoriesPage: UiHandler = async (c) => {
  const q = (c.url.searchParams.get("q") ?? "").slice(0, 255);
  const after = await startAfter(c);
  const { names, next } = await visibleRepositories(c, REPOS_PER_PAGE, after, q);
  const summaries = await Promise.all(names.map((n) => repoSummary(c, n)));
  const nextLink = next
    ? href(["/"], { q, after: next.visible ? next.after : undefined, cursor: next.visible ? undefined : await seal(c.auth.signingSecret, next.after) })
    : undefined;
  const rows = names.map((name, i) => {
    const s = summaries[i];
    const pushed = s.latest ? new Date(s.latest.pushedAt) : undefined;
    return html`<tr>
<td><a href="${href(["/r/", { name }])}">${name}</a></td>
<td class="num">${s.tags}${s.more ? "+" : ""}</td>
<td>${s.latest ? html`<a href="${href(["/r/", { name }, ":", s.latest.tag])}">${s.latest.tag}</a>` : html`<span class="muted">—</span>`}</td>
<td class="num">${bytes(s.latest?.contentSize)}</td>
<td><time datetime="${pushed?.toISOString()}" title="${when(pushed)}">${ago(pushed)}</time></td>
</tr>`;
  });
  const body = html`<h1>Repositories</h1>
<form class="search" method="get" action="/" role="search">
<label for="q" class="muted">Search</label>
<input type="search" id="q" name="q" value="${q}" placeholder="name contains…" autocomplete="off">
<button type="submit">Search</button>
${q ? html`<a href="/">Clear</a>` : ""}
</form>
${
  names.length
    ? html`<div class="scroll"><table>
<thead><tr><th scope="col">Repository</th><th scope="col" class="num">Tags</th><th scope="col">Latest tag</th><th scope="col" class="num">Size</th><th scope="col">Last push</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`
    : html`<p class="notice">${emptyMessage(c, q, after !== undefined)}</p>`
}
<div class="pager">${after !== undefined ? html`<a href="${href(["/"], { q })}">First page</a>` : ""}${nextLink ? html`<a href="${nextLink}" rel="next">Next page →</a>` : ""}</div>
<p class="muted">Size: what pulling the latest tag transfers (config and layers, all platforms of an index).</p>`;
  return page(c, { title: "Repositories", body });
};

async function startAfter(c: UiContext): Promise<string | undefined> {
  const cursor = c.url.searchParams.get("cursor");
  if (cursor) return (await unseal(c.auth.signingSecret, cursor)) ?? undefined;
  return c.url.searchParams.get("after") ?? undefined;
}

function emptyMessage(c: UiContext, q: string, paged: boolean): string {
  if (q) return paged ? `No more repositories match “${q}” here.` : `No repository you may see matches “${q}”.`;
  if (paged) return "No more repositories you may see.";
  return c.viewer.session ? "No repositories you may see yet." : "No public repositories yet. Sign in to see more.";
}
