/** GET /v2/<name>/referrers/<digest>[?artifactType=&n=&last=]: an image index of the subject's referrers. */
import { parseDigest } from "../../../oci/grammar";
import { MediaTypes } from "../../../oci/media-types";
import type { Handler } from "../context";
import { linkHeader, readPage } from "../pagination";

export const REFERRERS_DEFAULT_PAGE = 100;

export const listReferrers: Handler = async (c) => {
  const subject = parseDigest(c.params.digest);
  const artifactType = c.url.searchParams.get("artifactType") ?? undefined;
  const { n, last } = readPage(c.url, REFERRERS_DEFAULT_PAGE, 1000);
  const page = await c.storage.referrers.list(c.name, subject, n, last, artifactType);
  const headers = new Headers({ "Content-Type": MediaTypes.ociIndex });
  if (artifactType !== undefined) headers.set("OCI-Filters-Applied", "artifactType");
  if (page.next) {
    const extra: Record<string, string> = artifactType !== undefined ? { artifactType } : {};
    headers.set("Link", linkHeader(`/v2/${c.name}/referrers/${subject}`, n, page.next, extra));
  }
  const body = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: page.descriptors };
  return new Response(JSON.stringify(body), { headers });
};
