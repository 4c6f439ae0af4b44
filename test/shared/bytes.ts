/** Pure byte helpers shared by the Worker tests (workerd) and the e2e tests (Node). */

/** Cut `data` at the given chunk sizes (the last chunk takes the rest). */
export function cut<B extends ArrayBufferLike>(data: Uint8Array<B>, sizes: number[]): Uint8Array<B>[] {
  const out: Uint8Array<B>[] = [];
  let pos = 0;
  for (const s of sizes) {
    if (pos >= data.length) break;
    out.push(data.subarray(pos, Math.min(data.length, pos + s)));
    pos += s;
  }
  if (pos < data.length) out.push(data.subarray(pos));
  return out;
}
