/** GET /v2/_catalog[?n=&last=]: 100 repositories a page unless asked, at most 1000 (as distribution). */
import type { Handler } from "../context";
import { linkHeader, readPage } from "../pagination";

export const CATALOG_DEFAULT_PAGE = 100;
export const CATALOG_MAX_PAGE = 1000;

export const listCatalog: Handler = async (c) => {
  const { n, last } = readPage(c.url, CATALOG_DEFAULT_PAGE, CATALOG_MAX_PAGE);
  const page = await c.storage.catalog.list(n, last);
  const headers = new Headers({ "Content-Type": "application/json" });
  if (page.more) headers.set("Link", linkHeader("/v2/_catalog", n, page.names[page.names.length - 1]));
  return new Response(JSON.stringify({ repositories: page.names }), { headers });
};
