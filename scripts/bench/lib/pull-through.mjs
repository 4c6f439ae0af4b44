/**
 * The pull-through cache workload (issue 12), registered in run.mjs as `pull-through`. A second Wharf is
 * started with UPSTREAMS pointing at the benchmark's CNCF distribution (prefix `pt`). For each image and
 * round, with skopeo and an empty blob-info cache each time:
 *   direct  pull from distribution itself                          (the upstream's own speed)
 *   cold    first pull through Wharf: every blob filled from upstream, streamed to skopeo and into R2
 *   warm    the same pull again: all from R2 (and the edge cache), nothing upstream
 *   pushed  the same image pushed to that Wharf as a local repository, then pulled
 * Targets: cold ≤ 1.5x direct, warm ≤ 1.1x pushed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRandomImage } from "./images.mjs";
import { cleanupLater, removeDir } from "./procs.mjs";
import { median } from "./report.mjs";
import { startWharf } from "./servers.mjs";
import { skopeoPull, skopeoPush } from "./transfer.mjs";

const log = (...a) => console.error("bench:", ...a);
const OPS = ["direct", "cold", "warm", "pushed"];

export async function pullThroughWorkload({ root, distribution, images, rounds }) {
  let work = null;
  let imgs = images;
  if (!Object.keys(imgs).length) {
    work = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-pt-")));
    // Run on its own: many small blobs (per-blob cost) and one large one (bytes per second).
    imgs = {
      small: { ...buildRandomImage(join(work, "small"), 20, 1e6), label: "20 x 1 MB layers" },
      large: { ...buildRandomImage(join(work, "large"), 1, 200e6), label: "one 200 MB layer" },
    };
  }
  const wharf = await startWharf(root, { UPSTREAMS: JSON.stringify([{ prefix: "pt", url: distribution.url, tagTtlSeconds: 3600 }]) });
  const proxy = { ...wharf, name: "wharf-pull-through" };
  const samples = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [key, image] of Object.entries(imgs)) {
        const timeoutMs = Math.max(120_000, (image.bytes / 1e6) * 1000);
        const repo = `bench/pt-${key}-r${round}`;
        const base = { workload: "pull-through", case: key, round, bytes: image.bytes };
        try {
          await skopeoPush(image, distribution, repo, timeoutMs);
          const t = {};
          t.direct = await skopeoPull(image, distribution, repo, timeoutMs);
          t.cold = await skopeoPull(image, proxy, `pt/${repo}`, timeoutMs);
          t.warm = await skopeoPull(image, proxy, `pt/${repo}`, timeoutMs);
          await skopeoPush(image, proxy, `bench/pushed-${key}-r${round}`, timeoutMs);
          t.pushed = await skopeoPull(image, proxy, `bench/pushed-${key}-r${round}`, timeoutMs);
          for (const op of OPS) samples.push({ ...base, op, server: op === "direct" ? "distribution" : "wharf", seconds: t[op] });
          log(`pull-through ${key} r${round}: direct ${t.direct.toFixed(2)} s, cold ${t.cold.toFixed(2)} s, warm ${t.warm.toFixed(2)} s, pushed ${t.pushed.toFixed(2)} s`);
        } catch (e) {
          log(`FAILED pull-through ${key} r${round}: ${String(e?.message ?? e).split("\n")[0]}`);
          samples.push({ ...base, op: "round", failed: true, error: String(e?.message ?? e).slice(0, 2000), serverLog: wharf.log().slice(-3000) });
        }
      }
    }
  } finally {
    await wharf.stop().catch(() => undefined);
    if (work) removeDir(work);
  }
  return samples;
}

/** The workload's table and targets, as markdown lines (empty when it did not run). */
export function pullThroughReport(samples) {
  const mine = samples.filter((s) => s.workload === "pull-through" && !s.failed);
  if (!mine.length) return "";
  const fmt = (s) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : "–");
  const x = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : "–");
  const lines = [
    "",
    "Pull-through cache (skopeo pull; a second Wharf with UPSTREAMS pointing at the same distribution): direct pull from distribution, first (cold) and second (warm) pull through Wharf, and the pull of the same image pushed to that Wharf.",
    "",
    "| image | direct | cold through Wharf | cold / direct (target ≤ 1.5x) | warm through Wharf | pushed to Wharf | warm / pushed (target ≤ 1.1x) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const key of [...new Set(mine.map((s) => s.case))]) {
    const m = Object.fromEntries(OPS.map((op) => [op, median(mine.filter((s) => s.case === key && s.op === op).map((s) => s.seconds))]));
    const mb = (mine.find((s) => s.case === key)?.bytes ?? 0) / 1e6;
    lines.push(`| ${key} (${mb.toFixed(0)} MB) | ${fmt(m.direct)} | ${fmt(m.cold)} | ${x(m.cold / m.direct)} | ${fmt(m.warm)} | ${fmt(m.pushed)} | ${x(m.warm / m.pushed)} |`);
  }
  return lines.join("\n");
}
