/** Manifest GET/HEAD by tag or digest, PUT (validate → store → tag), DELETE by tag or digest. */
import { MAX_MANIFEST_BYTES } from "../../config";
import { RegistryError } from "../../errors";
import { digestOf, isDigest, isValidTag, type ManifestReference, parseManifestReference } from "../../../oci/grammar";
import type { ManifestContent, ManifestInfo } from "../../storage/manifests";
import { parseManifest } from "../../../oci/manifest";
import { baseMediaType } from "../../../oci/media-types";
import { checkTagMove, tagIsImmutable } from "../../gc/immutable";
import { gcSettingsOf } from "../../gc/settings";
import { readBodyLimited } from "../body";
import { deleteReference } from "../manifest-delete";
import { notModified } from "../conditional";
import { checkReferences } from "../manifest-references";
import type { Handler } from "../context";
import { contentCache } from "../../cache/content-cache";

export const getManifest: Handler = async (c) => {
  const ref = existingReference(c.params.reference);
  const head = c.request.method === "HEAD";
  const store = c.storage.manifests;
  let m: ManifestInfo | ManifestContent | null;
  if (ref.tag !== undefined) {
    m = head ? await store.statTag(c.name, ref.tag) : await contentCache.manifestByTag(c.settings.CONTENT_CACHE_SECONDS, c.name, ref.tag, store);
    if (!m) throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${ref.tag} unknown to ${c.name}`, { tag: ref.tag });
  } else {
    const digest = ref.digest;
    m = await contentCache.manifest(c.settings.CONTENT_CACHE_SECONDS, c.name, digest, () => store.get(c.name, digest), (p) => c.waitUntil(p));
    if (!m) throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${ref.digest} unknown to ${c.name}`, { digest: ref.digest.toString() });
  }
  const headers = new Headers({
    "Content-Type": m.mediaType,
    "Docker-Content-Digest": m.digest.toString(),
    "Content-Length": String(m.size),
    ETag: `"${m.digest}"`,
  });
  if (ref.digest) headers.set("Cache-Control", "public, max-age=31536000, immutable");
  const unchanged = notModified(c.request, headers);
  if (unchanged) return unchanged;
  if (!head) c.events.emit({ action: "pull", repository: c.name, digest: m.digest.toString(), mediaType: m.mediaType, size: m.size, tag: ref.tag });
  return new Response("bytes" in m && !head ? (m as ManifestContent).bytes : null, { status: 200, headers });
};

export const putManifest: Handler = async (c) => {
  const ref = parseManifestReference(c.params.reference);
  const bytes = await readBodyLimited(c.request, MAX_MANIFEST_BYTES, () => tooLarge(MAX_MANIFEST_BYTES));
  const digest = await digestOf(bytes, ref.digest?.algorithm ?? "sha256");
  if (ref.digest && ref.digest.toString() !== digest.toString()) {
    throw new RegistryError("DIGEST_INVALID", `manifest digest is ${digest}, not ${ref.digest}`);
  }
  const facts = parseManifest(bytes, baseMediaType(c.request.headers.get("Content-Type")));
  const gc = gcSettingsOf(c.settings);
  if (ref.tag !== undefined) await checkTagMove(gc, c.storage.manifests, c.name, ref.tag, digest);
  await checkReferences(c.storage, c.name, facts.references);
  // The check above answers most refusals early; the repository object's create-only write decides a race
  // of two first pushes of an immutable tag.
  const immutable = ref.tag !== undefined && tagIsImmutable(gc, c.name, ref.tag);
  await c.repositories.putManifest(c.name, digest, bytes, facts.mediaType, ref.tag, { immutable });
  // Garbage collection's re-check after write (protocol in gc/coordinator.ts): while a run is active,
  // look at the blobs again, reviving what it condemned meanwhile. Should one be gone (this push took
  // longer than GC_CONDEMN_SECONDS since its check), take the manifest back rather than leave it dangling.
  const lost = await c.storage.blobs.confirm(c.name, facts.blobs);
  if (lost.length) {
    await c.repositories.deleteManifest(c.name, digest).catch(() => undefined);
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", `blobs removed by garbage collection during the push: ${lost.join(", ")}; push them again`, {
      digests: lost.map(String),
    });
  }
  const headers: Record<string, string> = {
    Location: `/v2/${c.name}/manifests/${digest}`,
    "Docker-Content-Digest": digest.toString(),
    "Content-Length": "0",
  };
  if (facts.subject) headers["OCI-Subject"] = facts.subject.toString();
  c.events.emit({ action: "push", repository: c.name, digest: digest.toString(), mediaType: facts.mediaType, size: bytes.length, tag: ref.tag });
  return new Response(null, { status: 201, headers });
};

export const deleteManifest: Handler = async (c) => {
  if (!c.settings.DELETE_ENABLED) throw new RegistryError("UNSUPPORTED", "deletes are disabled on this registry");
  await deleteReference(c, c.name, existingReference(c.params.reference));
  return new Response(null, { status: 202, headers: { "Content-Length": "0" } });
};

/**
 * A reference to read or delete. A tag that does not match the tag grammar can never have been pushed,
 * so it names a manifest that does not exist: 404 MANIFEST_UNKNOWN (what the conformance suite asks of
 * GET and HEAD), while a PUT to it stays 400 TAG_INVALID. A malformed digest stays 400 DIGEST_INVALID.
 */
function existingReference(raw: string): ManifestReference {
  if (!isDigest(raw) && !isValidTag(raw)) {
    throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${truncate(raw)} unknown: not a valid tag`, { tag: truncate(raw) });
  }
  return parseManifestReference(raw);
}

const truncate = (s: string) => (s.length > 80 ? `${s.slice(0, 80)}...` : s);

function tooLarge(max: number): RegistryError {
  return new RegistryError("MANIFEST_TOO_LARGE", `manifest larger than ${max} bytes`, { limit: max });
}
