/** Manifest GET/HEAD by tag or digest, PUT (validate → store → tag), DELETE by tag or digest. */
import { MAX_MANIFEST_BYTES } from "../../config";
import { RegistryError } from "../../errors";
import { digestOf, isDigest, isValidTag, type ManifestReference, parseManifestReference } from "../../../oci/grammar";
import type { ManifestContent, ManifestInfo } from "../../storage/manifests";
import { parseManifest } from "../../../oci/manifest";
import { baseMediaType } from "../../../oci/media-types";
import { readBodyLimited } from "../body";
import { notModified } from "../conditional";
import { checkReferences } from "../../storage/references";
import type { Handler } from "../context";

export const getManifest: Handler = async (c) => {
  const ref = existingReference(c.params.reference);
  const head = c.request.method === "HEAD";
  const store = c.storage.manifests;
  let m: ManifestInfo | ManifestContent | null;
  if (ref.tag !== undefined) {
    m = head ? await store.statTag(c.name, ref.tag) : await store.getTag(c.name, ref.tag);
    if (!m) throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${ref.tag} unknown to ${c.name}`, { tag: ref.tag });
  } else {
    m = head ? await store.stat(c.name, ref.digest) : await store.get(c.name, ref.digest);
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
  return new Response("bytes" in m ? (m as ManifestContent).bytes : null, { status: 200, headers });
};

export const putManifest: Handler = async (c) => {
  const ref = parseManifestReference(c.params.reference);
  const bytes = await readBodyLimited(c.request, MAX_MANIFEST_BYTES, () => tooLarge(MAX_MANIFEST_BYTES));
  const digest = await digestOf(bytes, ref.digest?.algorithm ?? "sha256");
  if (ref.digest && ref.digest.toString() !== digest.toString()) {
    throw new RegistryError("DIGEST_INVALID", `manifest digest is ${digest}, not ${ref.digest}`);
  }
  const facts = parseManifest(bytes, baseMediaType(c.request.headers.get("Content-Type")));
  await checkReferences(c.storage, c.name, facts.references);
  await c.repositories.putManifest(c.name, digest, bytes, facts.mediaType, ref.tag);
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
  const ref = existingReference(c.params.reference);
  if (ref.tag !== undefined) {
    const digest = await c.repositories.deleteTag(c.name, ref.tag);
    c.events.emit({ action: "delete", repository: c.name, digest: digest.toString(), tag: ref.tag });
  } else {
    await c.repositories.deleteManifest(c.name, ref.digest);
    c.events.emit({ action: "delete", repository: c.name, digest: ref.digest.toString() });
  }
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
