/** Run the real `wharf` command (bin/wharf.mjs, as `npx wharf` does) and read its output. */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll } from "vitest";
import { blobPath } from "./images";

const BIN = resolve(__dirname, "..", "..", "bin", "wharf.mjs");
// The CLI's layer cache goes to a folder of this test file, never the user's ~/.cache (removed after
// the file's tests: this hook joins the root suite of each test file that imports this module).
const CACHE = mkdtempSync(join(tmpdir(), "wharf-cache-"));
afterAll(() => rmSync(CACHE, { recursive: true, force: true }));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function wharfCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, WHARF_CACHE_DIR: CACHE, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

/** `wharf ...` that must succeed. */
export async function wharfOk(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await wharfCli(args, env);
  if (r.code !== 0) throw new Error(`wharf ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Uncompressed digests of an OCI layout image's layers (its diff_ids as content says). */
export function layerDiffIds(layout: string, layers: { digest: string; mediaType: string }[]): string[] {
  return layers.map((l) => {
    const bytes = readFileSync(blobPath(layout, l.digest));
    return sha256(l.mediaType.includes("gzip") ? gunzipSync(bytes) : bytes);
  });
}

export function configOf(layout: string, digest: string): { rootfs: { diff_ids: string[] }; architecture: string; os: string } {
  return JSON.parse(readFileSync(blobPath(layout, digest), "utf8"));
}

/** A directory with one file of `size` random bytes (incompressible: layer size ≈ file size). */
export function randomDir(parent: string, name: string, size: number): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "random.bin"), randomBytes(size));
  return dir;
}
