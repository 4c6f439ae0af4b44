/**
 * Incremental SHA-256, needed when a blob's digest is only known after its bytes were streamed (a layer
 * compressed on the fly). `crypto.subtle` cannot hash incrementally, so the implementation is picked by
 * runtime: Workers' `crypto.DigestStream`, or one passed in (the Node entry point passes node:crypto's).
 */
import { toHex } from "../oci/encoding";

export interface IncrementalHash {
  update(data: Uint8Array): void;
  /** "sha256:<hex>" */
  digest(): Promise<string>;
}

export type HashFactory = () => IncrementalHash;

interface DigestStreamCtor {
  new (algorithm: string): WritableStream<Uint8Array> & { digest: Promise<ArrayBuffer> };
}


/** Workers' native DigestStream, when this runtime has one. */
export function digestStreamHash(): HashFactory | null {
  const Ctor = (crypto as unknown as { DigestStream?: DigestStreamCtor }).DigestStream;
  if (!Ctor) return null;
  return () => {
    const stream = new Ctor("SHA-256");
    const writer = stream.getWriter();
    let pending: Promise<void> = Promise.resolve();
    return {
      update(data) {
        const copy = data.slice();
        pending = pending.then(() => writer.write(copy));
      },
      async digest() {
        await pending;
        await writer.close();
        return `sha256:${toHex(await stream.digest)}`;
      },
    };
  };
}

/** One-shot SHA-256 of bytes in memory (manifests, configs), available everywhere. */
export async function sha256Of(bytes: Uint8Array): Promise<string> {
  return `sha256:${toHex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>))}`;
}
