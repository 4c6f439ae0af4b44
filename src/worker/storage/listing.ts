/**
 * Lexically ordered, paginated listing of the names under one R2 prefix. A page costs ceil(n / 1000)
 * list calls whatever the total number of keys, because R2 lists are lexicographic and start after a
 * given key, and say whether more keys follow (`truncated`), so a full page needs no extra call to
 * learn that another one follows (a walk of 10,000 tags in pages of 1,000: 11 list calls, was 21).
 */
const R2_LIST_MAX = 1000;

export interface Page {
  names: string[];
  /** True when more names follow the last one returned. */
  more: boolean;
}

/** Up to `n` names (key suffixes after `prefix`) strictly after `last`; n = Infinity walks everything. */
export async function listNames(bucket: R2Bucket, prefix: string, n: number, last?: string): Promise<Page> {
  const names: string[] = [];
  if (n === 0) return { names, more: false };
  let startAfter = last !== undefined ? prefix + last : undefined;
  let cursor: string | undefined;
  for (;;) {
    const want = Math.min(R2_LIST_MAX, n === Infinity ? R2_LIST_MAX : n - names.length);
    const res = await bucket.list(cursor ? { prefix, cursor, limit: want } : { prefix, startAfter, limit: want });
    for (const o of res.objects) names.push(o.key.slice(prefix.length));
    if (names.length > n) return { names: names.slice(0, n), more: true };
    if (!res.truncated) return { names, more: false };
    if (names.length === n) return { names, more: true };
    cursor = res.cursor;
    startAfter = undefined;
  }
}

/** Every key under a prefix, in batches, for deletes that must reach all of them. */
export async function* listKeys(bucket: R2Bucket, prefix: string): AsyncGenerator<string[]> {
  let cursor: string | undefined;
  do {
    const res = await bucket.list({ prefix, cursor, limit: R2_LIST_MAX });
    if (res.objects.length) yield res.objects.map((o) => o.key);
    cursor = res.truncated ? res.cursor : undefined;
  } while (cursor);
}

export interface ListedObject {
  /** Key suffix after the prefix. */
  name: string;
  uploaded: Date;
  size: number;
  customMetadata: Record<string, string>;
  contentType?: string;
}

export interface ObjectPage {
  objects: ListedObject[];
  more: boolean;
}

/**
 * Like listNames, with each object's upload time and size, and with `metadata` its custom and HTTP
 * metadata (same number of list calls; locally the simulator makes a list with metadata several times
 * slower per object, so ask for it only when the page shows it).
 */
export async function listObjects(bucket: R2Bucket, prefix: string, n: number, last?: string, metadata = true): Promise<ObjectPage> {
  const objects: ListedObject[] = [];
  if (n === 0) return { objects, more: false };
  let startAfter = last !== undefined ? prefix + last : undefined;
  let cursor: string | undefined;
  // R2's `include` option (not in workers-types' R2ListOptions) returns each object's metadata in the list.
  const include = metadata ? ["customMetadata", "httpMetadata"] : [];
  for (;;) {
    const want = Math.min(R2_LIST_MAX, n === Infinity ? R2_LIST_MAX : n - objects.length);
    const options = cursor ? { prefix, cursor, limit: want, include } : { prefix, startAfter, limit: want, include };
    const res = await bucket.list(options as R2ListOptions);
    for (const o of res.objects) {
      objects.push({
        name: o.key.slice(prefix.length),
        uploaded: o.uploaded,
        size: o.size,
        customMetadata: o.customMetadata ?? {},
        contentType: o.httpMetadata?.contentType,
      });
    }
    if (objects.length > n) return { objects: objects.slice(0, n), more: true };
    if (!res.truncated) return { objects, more: false };
    if (objects.length === n) return { objects, more: true };
    cursor = res.cursor;
    startAfter = undefined;
  }
}
