/**
 * Reads a request body in large chunks. A body that reaches the session over RPC arrives in 4 KiB pieces
 * (65,536 JavaScript iterations per 256 MiB, each with a hash write and a copy); a BYOB reader with
 * `readAtLeast` lets workerd fill 1 MiB at a time natively. Each yielded chunk is a fresh buffer the
 * consumer may keep. If the stream fails mid-chunk, the bytes of the unfinished chunk are not yielded:
 * the session then rests at the offset of what it did take, which the client can continue from.
 */
export const READ_CHUNK_BYTES = 1 << 20;

export function byteChunks(body: ReadableStream<Uint8Array>, size = READ_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  return chunksOf(body, size, false);
}

/**
 * As byteChunks, but every chunk is read into the same buffer: a chunk is valid only until the consumer
 * asks for the next one, so it must be done with it by then (copied it, or awaited a write that has
 * consumed it). For the upload session's own loops: a fresh 1 MiB buffer per read left up to a few
 * hundred MiB of garbage in workerd during a 1 GiB push (docs/benchmarks.md).
 */
export function reusedChunks(body: ReadableStream<Uint8Array>, size = READ_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  return chunksOf(body, size, true);
}

async function* chunksOf(body: ReadableStream<Uint8Array>, size: number, reuse: boolean): AsyncGenerator<Uint8Array> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    yield* plainChunks(body); // not a byte stream
    return;
  }
  try {
    let buffer = new Uint8Array(size);
    for (;;) {
      // The read takes the buffer over (it is transferred) and hands it back as `value`.
      const { done, value } = await reader.readAtLeast(size, buffer);
      if (value && value.byteLength > 0) yield value;
      if (done) return;
      buffer = reuse && value ? new Uint8Array(value.buffer, 0, size) : new Uint8Array(size);
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
