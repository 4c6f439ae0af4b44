/**
 * A streamed PATCH that carries a whole blob (no Content-Range, Content-Length known: skopeo, crane and
 * docker-style clients push each layer this way) goes straight into one R2 object with a single `put`,
 * hashed on the way. Compared with cutting it into multipart parts this needs no part buffers in the
 * session's memory, no tail rows in its storage for small blobs, 1 R2 write instead of N + 2, and the
 * result is a plain object, which R2 (and the local simulator, much more so) reads back faster.
 */
import { byteChunks } from "./byte-chunks";
import type { Hasher } from "./hasher";

/** A single R2 put takes up to about 5 GiB; above this, uploads stay multipart. */
export const WHOLE_OBJECT_MAX_BYTES = 4 * 1024 ** 3;

/**
 * Stream exactly `length` bytes of `body` into the object `key`, feeding `hasher` (if any) on the way.
 * All or nothing: a body shorter or longer than `length`, or a failed put, stores nothing and throws.
 */
export async function putWholeObject(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
  hasher: Hasher | null,
): Promise<void> {
  const sized = new FixedLengthStream(length);
  const putting = bucket.put(key, sized.readable);
  putting.catch(() => undefined); // awaited below; a failure must not surface as unhandled meanwhile
  const writer = sized.writable.getWriter();
  try {
    for await (const chunk of byteChunks(body)) {
      if (hasher) await hasher.write(chunk);
      await writer.write(chunk);
    }
    await writer.close();
  } catch (err) {
    await writer.abort(err).catch(() => undefined);
    await putting.catch(() => undefined);
    throw err;
  }
  await putting;
}
