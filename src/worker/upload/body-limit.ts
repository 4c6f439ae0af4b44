/**
 * MAX_CHUNK_BYTES for bodies streamed without Content-Length (docker's PATCH uses chunked encoding).
 *
 * A declared body over the limit is refused before it is read (handlers/uploads.ts). A streamed one can
 * only be counted: `limitBody` pumps the request body into a byte stream that the session reads, passes
 * exactly `max` bytes on, and then fails that stream. The session treats it as a body that ended early:
 * it keeps what it received (at most `max` bytes, less a partly read chunk) and rests at that offset,
 * the last good one, which GET on the session reports. The pump reads the rest of the request body and
 * drops it (up to DRAIN_LIMIT), so the 413 that the handler answers reaches the client instead of a
 * connection reset (see the router's discardUnreadBody). Cloudflare's edge refuses such a body with 413
 * too, which is what this stands in for locally.
 */

/** Past this many refused bytes the pump stops reading and lets the connection drop. */
const DRAIN_LIMIT = 256 * 1024 * 1024;

export interface LimitedBody {
  stream: ReadableStream<Uint8Array>;
  /** True once the body went past the limit. */
  readonly tripped: boolean;
  /** Resolves when the pump has finished reading (and dropping) the request body. */
  done: Promise<void>;
}

export class BodyTooLarge extends Error {
  constructor(readonly max: number) {
    super(`request body over ${max} bytes`);
  }
}

export function limitBody(body: ReadableStream<Uint8Array>, max: number): LimitedBody {
  // An identity transform is a native byte stream: the session reads it with BYOB as it would the body.
  const pipe = new IdentityTransformStream();
  const state = { tripped: false };
  const done = pump(body, pipe.writable.getWriter(), max, state);
  return {
    stream: pipe.readable as ReadableStream<Uint8Array>,
    get tripped() {
      return state.tripped;
    },
    done,
  };
}

async function pump(body: ReadableStream<Uint8Array>, out: WritableStreamDefaultWriter<Uint8Array>, max: number, state: { tripped: boolean }): Promise<void> {
  const reader = body.getReader();
  let passed = 0;
  let dropped = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (state.tripped) {
        dropped += value.byteLength;
        if (dropped > DRAIN_LIMIT) {
          await reader.cancel().catch(() => undefined);
          return;
        }
        continue;
      }
      if (passed + value.byteLength > max) {
        const room = max - passed;
        if (room > 0) await out.write(value.slice(0, room));
        state.tripped = true;
        dropped += value.byteLength - room;
        await out.abort(new BodyTooLarge(max)).catch(() => undefined);
        continue;
      }
      passed += value.byteLength;
      await out.write(value);
    }
    if (!state.tripped) await out.close();
  } catch (err) {
    // The client went away, or the session stopped reading: end the session's stream with the error.
    await out.abort(err).catch(() => undefined);
    await reader.cancel().catch(() => undefined);
  }
}
