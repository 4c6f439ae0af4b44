/**
 * Reads a request body in large chunks. A body that reaches the session over RPC arrives in 4 KiB pieces
 * (65,536 JavaScript iterations per 256 MiB, each with a hash write and a copy); a BYOB reader with
 * `readAtLeast` lets workerd fill 1 MiB at a time natively. Each yielded chunk is a fresh buffer the
 * consumer may keep. If the stream fails mid-chunk, the bytes of the unfinished chunk are not yielded:
 * the session then rests at the offset of what it did take, which the client can continue from.
 */
export const READ_CHUNK_BYTES = 1 << 20;

export async function* byteChunks(body: ReadableStream<Uint8Array>, size = READ_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    yield* plainChunks(body); // not a byte stream
    return;
  }
  try {
    for (;;) {
      const { done, value } = await reader.readAtLeast(size, new Uint8Array(size));
      if (value && value.byteLength > 0) yield value;
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

async function* plainChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
