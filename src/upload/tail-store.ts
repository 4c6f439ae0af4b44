/**
 * The bytes of an upload that do not yet fill an R2 part wait between requests in the session's own
 * Durable Object storage, as rows of at most 1 MiB (a value may be about 2 MB at most).
 */
export const TAIL_ROW_BYTES = 1024 * 1024;

const rowKey = (i: number) => `tail:${String(i).padStart(6, "0")}`;
const rowCount = (length: number) => Math.ceil(length / TAIL_ROW_BYTES);

export async function loadTail(storage: DurableObjectStorage, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const n = rowCount(length);
  for (let first = 0; first < n; first += 128) {
    const keys = Array.from({ length: Math.min(128, n - first) }, (_, k) => rowKey(first + k));
    const rows = await storage.get<Uint8Array>(keys);
    for (let k = 0; k < keys.length; k++) {
      const row = rows.get(keys[k]);
      if (!row) throw new Error(`upload tail row ${keys[k]} missing`);
      out.set(row, (first + k) * TAIL_ROW_BYTES);
    }
  }
  return out;
}

/**
 * Store `tail` where `oldLength` bytes were stored before. When the new tail extends the old one
 * (`extendsOld`: no part was cut since), rows wholly before the old end are unchanged and not rewritten.
 */
export async function saveTail(
  storage: DurableObjectStorage | DurableObjectTransaction,
  tail: Uint8Array,
  oldLength: number,
  extendsOld: boolean,
): Promise<void> {
  const n = rowCount(tail.length);
  const firstChanged = extendsOld ? Math.floor(oldLength / TAIL_ROW_BYTES) : 0;
  const entries: Record<string, Uint8Array> = {};
  for (let i = firstChanged; i < n; i++) {
    entries[rowKey(i)] = tail.slice(i * TAIL_ROW_BYTES, Math.min(tail.length, (i + 1) * TAIL_ROW_BYTES));
  }
  const keys = Object.keys(entries);
  for (let i = 0; i < keys.length; i += 128) {
    await storage.put(Object.fromEntries(keys.slice(i, i + 128).map((k) => [k, entries[k]])));
  }
  const stale = Array.from({ length: Math.max(0, rowCount(oldLength) - n) }, (_, k) => rowKey(n + k));
  for (let i = 0; i < stale.length; i += 128) await storage.delete(stale.slice(i, i + 128));
}
