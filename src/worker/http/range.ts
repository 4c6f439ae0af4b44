/** Single-range `Range: bytes=...` requests against a blob of known size. */
import { RegistryError } from "../errors";
import type { ByteRange } from "../storage/blobs";

/**
 * null: serve the whole blob (no Range, or a form we ignore as RFC 9110 allows: other units, several ranges).
 * Throws RANGE_INVALID (416) when the range cannot be satisfied.
 */
export function parseRange(header: string | null, size: number): ByteRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return null;
  }
  if (start >= size) throw unsatisfiable(size);
  return { offset: start, length: end - start + 1 };
}

function unsatisfiable(size: number): RegistryError {
  return new RegistryError("RANGE_INVALID", "requested range not satisfiable", undefined, { "Content-Range": `bytes */${size}` });
}
