/**
 * Deleting from the pages, in two steps: GET /r/<name>:<tag>/delete (or @<digest>/delete) shows what
 * will go and a confirmation form; POST to the same path (CSRF-checked) deletes through the storage
 * API, as DELETE /v2/<name>/manifests/<reference> does, and returns to the repository's tags.
 * Only visitors allowed to delete there (and only when DELETE_ENABLED) get the form.
 */
import { deleteReference } from "../../http/manifest-delete";
import { RegistryError } from "../../errors";
import { mayDelete, type UiContext } from "../context";
import { bytes, shortDigest } from "../format";
import { html, href } from "../html";
import { page } from "../layout";
import { digestHref, repoHref, tagHref, type UiRef } from "../reference";
import { checkCsrf } from "../session";
import { readForm } from "../form";
import { loadManifest } from "./manifest";

function requireDelete(c: UiContext, name: string): void {
  if (!c.settings.DELETE_ENABLED) throw new RegistryError("UNSUPPORTED", "deletes are disabled on this registry (DELETE_ENABLED=false)");
  if (!mayDelete(c, name)) throw new RegistryError("DENIED", `you may not delete in ${name}`);
}

export async function confirmDeletePage(c: UiContext, ref: UiRef): Promise<Response> {
  const m = await loadManifest(c, ref); // 404 first: a repository the visitor may not see stays unseen
  requireDelete(c, ref.name);
  const what = ref.tag !== undefined ? html`the tag <strong>${ref.tag}</strong> (the manifest <code>${shortDigest(m.digest.toString())}</code> stays, reachable by digest and by any other tag)` : html`the manifest <code>${m.digest.toString()}</code> (${bytes(m.size)}) <strong>and every tag pointing at it</strong>`;
  const back = ref.tag !== undefined ? tagHref(ref.name, ref.tag) : digestHref(ref.name, m.digest.toString());
  const action = `${back}/delete`;
  const body = html`<h1>Delete from ${ref.name}?</h1>
<p>This deletes ${what}. It cannot be undone.</p>
<form method="post" action="${action}">
<input type="hidden" name="csrf" value="${c.csrf}">
<button class="danger solid" type="submit">Delete</button>
<a href="${back}">Cancel</a>
</form>`;
  return page(c, { title: `Delete from ${ref.name}`, body, crumbs: [["Repositories", "/"], [ref.name, repoHref(ref.name)], ["Delete"]] });
}

export async function deleteSubmit(c: UiContext, ref: UiRef): Promise<Response> {
  const f = await readForm(c.request);
  await checkCsrf(c.request, f, c.auth, c.viewer, c.csrfFallbackKey);
  const m = await loadManifest(c, ref);
  requireDelete(c, ref.name);
  let deleted: string;
  if (ref.tag !== undefined) {
    await deleteReference(c, ref.name, { tag: ref.tag });
    deleted = `tag ${ref.tag}`;
  } else {
    await deleteReference(c, ref.name, { digest: m.digest });
    deleted = `manifest ${shortDigest(m.digest.toString())}`;
  }
  return new Response(null, { status: 303, headers: { Location: href([repoHref(ref.name)], { deleted }), "Cache-Control": "no-store" } });
}
