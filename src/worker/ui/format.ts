/** Numbers, times and digests as pages show them. */

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "—";
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** "2026-12-01 20:15 UTC" */
export function when(d: Date | undefined): string {
  if (!d) return "—";
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "3 minutes ago" relative to now. */
export function ago(d: Date | undefined, now = Date.now()): string {
  if (!d) return "—";
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  const steps: [number, string][] = [[60, "second"], [60, "minute"], [24, "hour"], [30, "day"], [12, "month"], [Infinity, "year"]];
  let v = s;
  for (const [size, unit] of steps) {
    if (v < size) return v === 0 && unit === "second" ? "just now" : `${v} ${unit}${v === 1 ? "" : "s"} ago`;
    v = Math.floor(v / size);
  }
  return "—";
}

/** "sha256:0123456789ab" */
export function shortDigest(d: string): string {
  const i = d.indexOf(":");
  return i < 0 ? d.slice(0, 19) : d.slice(0, i + 13);
}
