/**
 * Running SHA-256 of an upload, on the runtime's native DigestStream (about 1.7 GB/s here). Its state
 * cannot be saved, so it lives only in the session's memory; `bytes` says how much it has seen, and the
 * session trusts it only while that equals the session's durable offset. When it is lost (eviction,
 * restart, a failed part), the session verifies the digest by reading the finished object back.
 */
import { toHex } from "../oci/grammar";

export class Hasher {
  private readonly stream = new crypto.DigestStream("SHA-256");
  private readonly writer = this.stream.getWriter();
  bytes = 0;

  async write(chunk: Uint8Array): Promise<void> {
    await this.writer.write(chunk);
    this.bytes += chunk.byteLength;
  }

  async hex(): Promise<string> {
    await this.writer.close();
    return toHex(await this.stream.digest);
  }
}

/** Digest of a stream in one pass, for the read-back path and sha512 uploads. */
export async function hashStream(body: ReadableStream, algorithm: "sha256" | "sha512"): Promise<string> {
  const ds = new crypto.DigestStream(algorithm === "sha256" ? "SHA-256" : "SHA-512");
  await body.pipeTo(ds);
  return toHex(await ds.digest);
}
