/**
 * Condemnation: the R2 side of garbage collection's protocol against pushes (the whole protocol is in
 * src/worker/gc/coordinator.ts). It applies to the two kinds of object a push re-uses rather than
 * creates: content index entries (blobs/<alg>/<hex>) and layer links (repositories/<name>/_layers/...).
 *
 * An object is in one of three states, kept in its customMetadata:
 *   live       no marker;
 *   condemned  `condemned: <run id>`: a GC run found it unreferenced and wants it gone; still served;
 *   tombstone  `tombstone: <run id>`: the run won; every reader treats the object as absent, and the run
 *              deletes it (after the links and data that hang off it) within the same step.
 * Every transition is a conditional put on the etag the actor last saw (R2 has no conditional delete), so
 * of a GC run moving condemned → tombstone and a writer moving condemned → live, exactly one wins:
 *   - `revive` (any new reference: a HEAD answering 200, a reference check, a commit of the same digest, a
 *     mount or link): condemned → live;
 *   - `condemn` (GC): live → condemned, only if unchanged since GC listed it;
 *   - `entomb` (GC): condemned → tombstone, only if nobody revived it since GC condemned it.
 * R2's etag is the MD5 of the body, so a rewrite that changed only metadata would keep its etag and the
 * conditions above could not tell the states apart: every write here therefore puts a fresh nonce after
 * the digest in the body (`versioned`), which makes the etag a version. Nothing reads these bodies.
 * Writers never overwrite a tombstone: `place` waits for GC to delete it and then creates the object anew,
 * so GC's later unconditional deletes can only ever hit what it entombed.
 */
import { DomainError } from "../domain-errors";

export const CONDEMNED = "condemned";
export const TOMBSTONE = "tombstone";

export type ObjectState = "live" | "condemned" | "tombstone";

export function stateOf(obj: R2Object): ObjectState {
  const m = obj.customMetadata ?? {};
  if (m[TOMBSTONE]) return "tombstone";
  if (m[CONDEMNED]) return "condemned";
  return "live";
}

function withoutMarks(meta: Record<string, string> | undefined): Record<string, string> {
  const out = { ...(meta ?? {}) };
  delete out[CONDEMNED];
  delete out[TOMBSTONE];
  return out;
}

/** How long a writer waits for a tombstone to go (GC deletes it in the step that wrote it). */
const TOMBSTONE_WAIT_MS = 10_000;

/** The body of every write: the digest, and a nonce that makes this write's etag unique. */
function versioned(body: string): string {
  return `${body}\n${crypto.randomUUID()}`;
}
const ATTEMPTS = 50;

/**
 * Bring a condemned object back to life (conditional on its etag). Returns the live object, or null when
 * it is gone or entombed: GC won and the caller must treat it as absent.
 */
export async function revive(bucket: R2Bucket, key: string, obj: R2Object, body: string): Promise<R2Object | null> {
  let current: R2Object | null = obj;
  for (let i = 0; i < ATTEMPTS && current; i++) {
    const state = stateOf(current);
    if (state === "live") return current;
    if (state === "tombstone") return null;
    const put = await bucket.put(key, versioned(body), {
      httpMetadata: current.httpMetadata,
      customMetadata: withoutMarks(current.customMetadata),
      onlyIf: { etagMatches: current.etag },
    });
    if (put) return put;
    current = await bucket.head(key); // someone else moved it: look again
  }
  return current && stateOf(current) === "live" ? current : null;
}

/**
 * Read an object and revive it if condemned; null when absent or entombed. What every reader on the push
 * path uses, so a client that saw an object exist can rely on it until it pushes what refers to it.
 */
export async function headLive(bucket: R2Bucket, key: string, body: string): Promise<R2Object | null> {
  const obj = await bucket.head(key);
  if (!obj) return null;
  return stateOf(obj) === "live" ? obj : revive(bucket, key, obj, body);
}

/**
 * Create the object if absent; if it exists, revive it when condemned and keep it. Returns the object now
 * in place and whether this call created it. A tombstone is waited out (GC deletes it within its step);
 * one that outlives TOMBSTONE_WAIT_MS answers 503, so the client retries.
 */
export async function place(
  bucket: R2Bucket,
  key: string,
  body: string,
  customMetadata: Record<string, string> = {},
): Promise<{ obj: R2Object; created: boolean }> {
  const deadline = Date.now() + TOMBSTONE_WAIT_MS;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    const created = await bucket.put(key, versioned(body), { customMetadata, onlyIf: { etagDoesNotMatch: "*" } });
    if (created) return { obj: created, created: true };
    const existing = await bucket.head(key);
    if (existing) {
      if (stateOf(existing) !== "tombstone") {
        const live = await revive(bucket, key, existing, body);
        if (live) return { obj: live, created: false };
      }
      if (Date.now() > deadline) {
        throw new DomainError("GC_COLLECTING", "garbage collection is deleting this content right now; retry");
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * GC: live → condemned, if the object still has the etag GC listed (an object an interrupted run left
 * condemned is condemned again, for this run). The new object, or null.
 */
export async function condemn(bucket: R2Bucket, key: string, etag: string, body: string, runId: string): Promise<R2Object | null> {
  const obj = await bucket.head(key);
  if (!obj || obj.etag !== etag || stateOf(obj) === "tombstone") return null;
  return bucket.put(key, versioned(body), {
    httpMetadata: obj.httpMetadata,
    customMetadata: { ...withoutMarks(obj.customMetadata), [CONDEMNED]: runId },
    onlyIf: { etagMatches: etag },
  });
}

/** GC: condemned → tombstone, if nobody revived it since GC condemned it (same etag). */
export async function entomb(
  bucket: R2Bucket,
  key: string,
  condemnedEtag: string,
  body: string,
  runId: string,
  meta: Record<string, string> = {},
): Promise<boolean> {
  const put = await bucket.put(key, versioned(body), {
    customMetadata: { ...withoutMarks(meta), [TOMBSTONE]: runId },
    onlyIf: { etagMatches: condemnedEtag },
  });
  return put !== null;
}

/** GC's own un-condemning (a reference found on the second look), conditional like everything else. */
export async function pardon(bucket: R2Bucket, key: string, condemnedEtag: string, body: string): Promise<void> {
  const obj = await bucket.head(key);
  if (obj && obj.etag === condemnedEtag && stateOf(obj) === "condemned") await revive(bucket, key, obj, body);
}

/** Is a garbage collection run between condemning and finishing? (One head; see gc/coordinator.ts.) */
export async function gcActive(bucket: R2Bucket, activeKey: string): Promise<boolean> {
  return (await bucket.head(activeKey)) !== null;
}
