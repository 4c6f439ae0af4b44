/** `n` and `last` query parameters and the `Link: <...>; rel="next"` header of paginated lists. */
import { RegistryError } from "../errors";

export interface PageRequest {
  n: number;
  last?: string;
}

/** `n` absent means `dflt` (Infinity: everything). Above `max`: 400 PAGINATION_NUMBER_INVALID. */
export function readPage(url: URL, dflt: number, max = Infinity): PageRequest {
  const raw = url.searchParams.get("n");
  const last = url.searchParams.get("last") ?? undefined;
  if (raw === null || raw === "") return { n: dflt, last };
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n > max) {
    throw new RegistryError("PAGINATION_NUMBER_INVALID", `n must be an integer from 0 to ${max}`, { n: raw });
  }
  return { n, last };
}

export function linkHeader(path: string, n: number, last: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ ...extra, n: String(n), last });
  return `<${path}?${q}>; rel="next"`;
}
