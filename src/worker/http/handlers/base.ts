import type { Handler } from "../context";
import { API_VERSION_HEADER } from "../context";

/** GET /v2/ : the API version check every client starts with. */
export const ping: Handler = async () =>
  new Response("{}", { headers: { "Content-Type": "application/json", ...API_VERSION_HEADER } });
