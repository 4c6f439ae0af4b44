/** GET /r/<name> : a repository's tags, a page at a time (100 by default), each with digest, kind, size and push time. */
import { RegistryError } from "../../errors";
import { mayDelete, mayView, type UiContext } from "../context";
import { ago, bytes, shortDigest, when } from "../format";
import { html, href } from "../html";
import { page } from "../layout";
import { tagPage } from "../data";
import { commandList, pullCommands } from "../pull-commands";
import { digestHref, repoHref, tagHref } from "../reference";
import type { TagDetail } from "../../storage/manifests";

export const TAGS_PER_PAGE = 100;
export const MAX_TAGS_PER_PAGE = 1000;

/** Anything the visitor may not see answers exactly like a repository that does not exist. */
export async function requireRepository(c: UiContext, name: string): Promise<void> {
  if (!mayView(c, name) || !(await c.storage.catalog.has(name))) {
    throw new RegistryError("NAME_UNKNOWN", `no repository ${name} that you may see`);
  }
}

export function kindOf(t: { mediaType: string; platforms?: string[]; artifactType?: string }): string {
  if (t.platforms?.length) return `index: ${t.platforms.join(", ")}`;
  if (/index|manifest\.list/.test(t.mediaType)) return "index";
  if (t.artifactType && !/image\.config|container\.image/.test(t.artifactType)) return t.artifactType;
  return "image";
}

export async function tagsPage(c: UiContext, name: string): Promise<Response> {
  await requireRepository(c, name);
  const q = (c.url.searchParams.get("q") ?? "").slice(0, 128);
  const after = c.url.searchParams.get("after") ?? undefined;
  const nRaw = Number(c.url.searchParams.get("n") ?? TAGS_PER_PAGE);
  const n = Number.isSafeInteger(nRaw) && nRaw > 0 ? Math.min(nRaw, MAX_TAGS_PER_PAGE) : TAGS_PER_PAGE;
  const { tags, more } = await tagPage(c, name, n, after, q);
  const canDelete = mayDelete(c, name);
  const deleted = c.url.searchParams.get("deleted");
  const nextLink = more && tags.length ? href([repoHref(name)], { q, n: n === TAGS_PER_PAGE ? undefined : n, after: tags[tags.length - 1].tag }) : undefined;
  const body = html`<h1>${name}</h1>
${deleted ? html`<p class="notice" role="status">Deleted ${deleted}.</p>` : ""}
<h2>Pull</h2>
${tags.length ? commandList(pullCommands(c, name, (tags.find((t) => t.tag === "latest") ?? tags[0]).tag).slice(0, 2), "Pull commands") : html`<p class="muted">No tags.</p>`}
<h2 id="tags">Tags</h2>
<form class="search" method="get" action="${repoHref(name)}" role="search">
<label for="q" class="muted">Tags starting with</label>
<input type="search" id="q" name="q" value="${q}" autocomplete="off">
<button type="submit">Filter</button>
${q ? html`<a href="${repoHref(name)}">Clear</a>` : ""}
</form>
${
  tags.length
    ? html`<div class="scroll"><table>
<thead><tr><th scope="col">Tag</th><th scope="col">Digest</th><th scope="col">Kind</th><th scope="col" class="num">Size</th><th scope="col">Pushed</th>${canDelete ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ""}</tr></thead>
<tbody>${tags.map((t) => row(name, t, canDelete))}</tbody>
</table></div>`
    : html`<p class="notice">${q || after ? "No more tags here." : "This repository has no tags (its manifests may be reachable by digest)."}</p>`
}
<div class="pager">${after !== undefined ? html`<a href="${href([repoHref(name)], { q })}">First page</a>` : ""}${nextLink ? html`<a href="${nextLink}" rel="next">Next ${n} tags →</a>` : ""}</div>`;
  return page(c, { title: name, body, crumbs: [["Repositories", "/"], [name]] });
}

function row(name: string, t: TagDetail, canDelete: boolean) {
  return html`<tr>
<td><a href="${tagHref(name, t.tag)}">${t.tag}</a></td>
<td><a href="${digestHref(name, t.digest)}"><code>${shortDigest(t.digest)}</code></a></td>
<td>${kindOf(t)}</td>
<td class="num">${bytes(t.contentSize)}</td>
<td><time datetime="${t.pushedAt.toISOString()}" title="${when(t.pushedAt)}">${ago(t.pushedAt)}</time></td>
${canDelete ? html`<td><a class="danger" href="${tagHref(name, t.tag)}/delete" aria-label="Delete tag ${t.tag}">Delete…</a></td>` : ""}
</tr>`;
}
