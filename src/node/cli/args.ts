/** Option parsing shared by the commands: sizes, platforms, formats. */
import { hostPlatform, parsePlatform, type Platform } from "../archive/oci";

export class UsageError extends Error {}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 };

/** "16MiB", "8m", "5000000" → bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`bad size "${s}" (examples: 16MiB, 5000000)`);
  const n = Math.floor(Number(m[1]) * unit);
  if (n <= 0) throw new UsageError(`size must be positive: ${s}`);
  return n;
}

/** --platform: "os/arch[/variant]", "all", or the host's when absent. */
export function platformOption(s: string | undefined): Platform | null {
  if (s === undefined) return hostPlatform();
  try {
    return parsePlatform(s);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * --compression-level: gzip level 1 (fastest) to 9 (smallest) for the layers a push compresses (docker
 * archives keep them uncompressed); absent: zlib's default, 6. Level 1 compresses about twice as fast
 * here, into about 11 % more bytes (README, "Benchmark").
 */
export function compressionLevelOption(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[1-9]$/.test(s.trim())) throw new UsageError(`--compression-level must be a whole number from 1 (fastest) to 9 (smallest), not "${s}"`);
  return Number(s.trim());
}

export function formatOption(s: string | undefined, out: string): "docker" | "oci" {
  if (s === undefined) return out.endsWith(".tar") ? "docker" : "oci";
  if (s !== "docker" && s !== "oci") throw new UsageError(`--format must be docker or oci, not ${s}`);
  return s;
}
