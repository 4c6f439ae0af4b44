/**
 * Digests of blob bytes: a running SHA-256 over bytes as they are written (`Hasher`), and the digest of
 * an object already in R2, read back in ranges (`hashObject`). BlobWriter (blob-writer.ts) uses both.
 */
import { toHex } from "../../oci/encoding";

/**
 * Running SHA-256 on the runtime's native DigestStream. Its state cannot be saved, so it lives only in
 * memory; `bytes` says how much it has seen, and a writer trusts it only while that equals the blob's
 * size. When it is lost (eviction, restart, a failed part), the digest is checked by reading back.
 */
export class Hasher {
  private readonly stream = new crypto.DigestStream("SHA-256");
  private readonly writer = this.stream.getWriter();
  bytes = 0;

  async write(chunk: Uint8Array): Promise<void> {
    await this.writer.write(chunk);
    this.bytes += chunk.byteLength;
  }

  private result: Promise<string> | null = null;

  /** The digest of what it saw; ends it (later writes fail), and asking again gives the same answer. */
  hex(): Promise<string> {
    this.result ??= this.writer.close().then(async () => toHex(await this.stream.digest));
    return this.result;
  }
}

/**
 * Digest of a stored object, read back in ranges of `window` bytes. One GET of a whole multipart object
 * makes the local R2 simulator hold the entire object in memory; ranged reads keep that to one window
 * there, and cost size/window subrequests on R2 (100 GiB at 64 MiB: 1,600). Null when the object is gone.
 */
export async function hashObject(
  bucket: R2Bucket,
  key: string,
  size: number,
  algorithm: "sha256" | "sha512",
  window: number,
): Promise<string | null> {
  const ds = new crypto.DigestStream(algorithm === "sha256" ? "SHA-256" : "SHA-512");
  for (let offset = 0; offset < size; offset += window) {
    const obj = await bucket.get(key, { range: { offset, length: Math.min(window, size - offset) } });
    if (!obj) return null;
    await obj.body.pipeTo(ds, { preventClose: true });
  }
  const writer = ds.getWriter();
  await writer.close();
  return toHex(await ds.digest);
}
