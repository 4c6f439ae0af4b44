/** What a transfer tells its user; the CLI renders it as bars, plain lines or Docker jsonmessages. */

export interface TransferEvents {
  /** A line about the whole operation ("The push refers to repository [...]"). */
  status(message: string): void;
  /** One layer's (or blob's) state; `current`/`total` in bytes while it moves. */
  layer(id: string, status: string, current?: number, total?: number): void;
  /** The result (pushed digest and size), as Docker's `aux`. */
  aux(value: Record<string, unknown>): void;
}

/** The 12-hex short id Docker shows for a blob. */
export function shortId(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1, digest.indexOf(":") + 13);
}

/** Run `fn` over items with at most `limit` at once, keeping order of results. */
export async function parallel<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}
