/**
 * The bytes of an upload that do not yet fill an R2 part wait between requests in the session's own
 * Durable Object storage, as rows of at most 1 MiB (a value may be about 2 MB at most).
 */
export const TAIL_ROW_BYTES = 1024 * 1024;

const ROWS_PER_BATCH = 4;

const rowKey = (i: number) => `tail:${String(i).padStart(6, "0")}`;
const rowCount = (length: number) => Math.ceil(length / TAIL_ROW_BYTES);

/** Read the stored tail of `length` bytes into the start of `out` (a new array of that length by default). */
export async function loadTail(storage: DurableObjectStorage, length: number, out = new Uint8Array(length)): Promise<Uint8Array> {
  const n = rowCount(length);
  for (let first = 0; first < n; first += ROWS_PER_BATCH) {
    const keys = Array.from({ length: Math.min(ROWS_PER_BATCH, n - first) }, (_, k) => rowKey(first + k));
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
  // Rows are copies (a stored view would serialize its whole buffer), made a few at a time so a tail of
  // a whole part is never held twice.
  for (let i = firstChanged; i < n; i += ROWS_PER_BATCH) {
    const entries: Record<string, Uint8Array> = {};
    for (let r = i; r < Math.min(n, i + ROWS_PER_BATCH); r++) {
      entries[rowKey(r)] = tail.slice(r * TAIL_ROW_BYTES, Math.min(tail.length, (r + 1) * TAIL_ROW_BYTES));
    }
    await storage.put(entries);
  }
  const stale = Array.from({ length: Math.max(0, rowCount(oldLength) - n) }, (_, k) => rowKey(n + k));
  for (let i = 0; i < stale.length; i += 128) await storage.delete(stale.slice(i, i + 128));
}
