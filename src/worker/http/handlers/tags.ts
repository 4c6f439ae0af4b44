/** GET /v2/<name>/tags/list[?n=&last=] */
import { RegistryError } from "../../errors";
import type { Handler } from "../context";
import { linkHeader, readPage } from "../pagination";
import { namesPage } from "../../repository/tag-index";

export const listTags: Handler = async (c) => {
  const { n, last } = readPage(c.url, Infinity);
  // The repository object's tag index (repository/tag-index.ts): one RPC and one range query. Null while
  // the index is being built: list R2 (a page costs one list call per 1,000 tags).
  const page = (await c.repositories.listTags(c.name, n, last)) ?? namesPage(await c.storage.manifests.listTags(c.name, n, last));
  // A page with tags proves the repository exists; only an empty one needs the catalog.
  if (page.count === 0 && !(await c.storage.catalog.has(c.name))) {
    throw new RegistryError("NAME_UNKNOWN", `repository ${c.name} not known to registry`, { name: c.name });
  }
  const headers = new Headers({ "Content-Type": "application/json" });
  if (page.more && page.last !== undefined) headers.set("Link", linkHeader(`/v2/${c.name}/tags/list`, n, page.last));
  // The same bytes as JSON.stringify({ name, tags }): the names come as a JSON array already.
  return new Response(`{"name":${JSON.stringify(c.name)},"tags":${page.json}}`, { headers });
};
