/** Manifest GET/HEAD by tag or digest, PUT (validate → store → tag), DELETE by tag or digest. */
import { MAX_MANIFEST_BYTES } from "../../config";
import { RegistryError } from "../../errors";
import { type Digest, digestOf, parseReference } from "../../../oci/grammar";
import type { ManifestContent, ManifestInfo } from "../../storage/manifests";
import { parseManifest } from "../../../oci/manifest";
import { baseMediaType } from "../../../oci/media-types";
import { readBodyLimited } from "../body";
import type { Handler, RequestContext } from "../context";

export const getManifest: Handler = async (c) => {
  const ref = parseReference(c.params.reference);
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
  if (!head) c.events.emit({ action: "pull", repository: c.name, digest: m.digest.toString(), mediaType: m.mediaType, size: m.size, tag: ref.tag });
  return new Response("bytes" in m ? (m as ManifestContent).bytes : null, { status: 200, headers });
};

export const putManifest: Handler = async (c) => {
  const ref = parseReference(c.params.reference);
  const bytes = await readBodyLimited(c.request, MAX_MANIFEST_BYTES, () => tooLarge(MAX_MANIFEST_BYTES));
  const digest = await digestOf(bytes, ref.digest?.algorithm ?? "sha256");
  if (ref.digest && ref.digest.toString() !== digest.toString()) {
    throw new RegistryError("DIGEST_INVALID", `manifest digest is ${digest}, not ${ref.digest}`);
  }
  const facts = parseManifest(bytes, baseMediaType(c.request.headers.get("Content-Type")));
  await requireReferences(c, facts.blobs, facts.manifests);
  await c.storage.manifests.put(c.name, digest, bytes, facts, ref.tag);
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
  const ref = parseReference(c.params.reference);
  if (ref.tag !== undefined) {
    const digest = await c.storage.manifests.deleteTag(c.name, ref.tag);
    c.events.emit({ action: "delete", repository: c.name, digest: digest.toString(), tag: ref.tag });
  } else {
    await c.storage.manifests.delete(c.name, ref.digest);
    c.events.emit({ action: "delete", repository: c.name, digest: ref.digest.toString() });
  }
  return new Response(null, { status: 202, headers: { "Content-Length": "0" } });
};

/** Every blob and child manifest the manifest names must already be in this repository. */
async function requireReferences(c: RequestContext, blobs: Digest[], manifests: Digest[]): Promise<void> {
  const missing: string[] = [];
  await Promise.all([
    ...blobs.map(async (d) => {
      if (!(await c.storage.blobs.exists(c.name, d))) missing.push(d.toString());
    }),
    ...manifests.map(async (d) => {
      if (!(await c.storage.manifests.stat(c.name, d))) missing.push(d.toString());
    }),
  ]);
  if (missing.length) {
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", `manifest references unknown content: ${missing.join(", ")}`, {
      digests: missing,
    });
  }
}

function tooLarge(max: number): RegistryError {
  return new RegistryError("MANIFEST_TOO_LARGE", `manifest larger than ${max} bytes`, { limit: max });
}
