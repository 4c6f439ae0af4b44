/**
 * The pull-through cache workload (issue 12), registered in run.mjs as `pull-through`. A second Wharf is
 * started with UPSTREAMS pointing at the benchmark's CNCF distribution (prefix `pt`). For each image and
 * round, with skopeo and an empty blob-info cache each time:
 *   direct  pull from distribution itself                          (the upstream's own speed)
 *   cold    first pull through Wharf: every blob filled from upstream, streamed to skopeo and into R2
 *   warm    the same pull again, once the server is idle (fills answer before they store): all from R2
 *           (and the edge cache), nothing upstream
 *   pushed  the same image pushed to that Wharf as a local repository, then pulled
 * Targets: cold ≤ 1.5x direct, warm ≤ 1.1x pushed. Each round pulls a variant of each image with digests
 * new to both registries (images.mjs imageVariant), so every cold pull fills every blob (with one image
 * for all rounds, later rounds found the bytes in the content store and only linked them).
 * For the image of many small blobs, the blob phase alone (curl, skopeo's 6 at a time, a fresh variant):
 *   blobs direct      GET every blob from distribution
 *   blobs floor fill  the floor Worker fetches each from distribution, streams it and puts it in R2 (tee)
 *   blobs cold        GET every blob through Wharf's cache (fill: digest checked, index, link)
 * which tells what the local R2 simulator's puts alone cost against the direct pull.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRandomImage, imageVariant } from "./images.mjs";
import { cleanupLater, removeDir, waitIdle } from "./procs.mjs";
import { median } from "./report.mjs";
import { startWharf } from "./servers.mjs";
import { getBlobs, skopeoPull, skopeoPush } from "./transfer.mjs";

const log = (...a) => console.error("bench:", ...a);
const OPS = ["direct", "cold", "warm", "pushed"];
const BLOB_OPS = ["blobs direct", "blobs floor fill", "blobs cold"];

export async function pullThroughWorkload({ root, distribution, floor, images, rounds }) {
  const work = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-pt-")));
  let imgs = images;
  if (!Object.keys(imgs).length) {
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
      for (const [key, baseImage] of Object.entries(imgs)) {
        const image = imageVariant(baseImage, join(work, `${key}-r${round}`), `pull-through/${key}/${round}`);
        const timeoutMs = Math.max(120_000, (image.bytes / 1e6) * 1000);
        const repo = `bench/pt-${key}-r${round}`;
        const base = { workload: "pull-through", case: key, round, bytes: image.bytes };
        try {
          await skopeoPush(image, distribution, repo, timeoutMs);
          const t = {};
          t.direct = await skopeoPull(image, distribution, repo, timeoutMs);
          t.cold = await skopeoPull(image, proxy, `pt/${repo}`, timeoutMs);
          await waitIdle(wharf.pid); // the fills' stores, after their clients had every byte
          t.warm = await skopeoPull(image, proxy, `pt/${repo}`, timeoutMs);
          // The pushed image is another variant (new digests): pulling the same digests again would
          // find the edge cache filled by the warm pull's signed GETs, which the warm pull had to fill.
          const pushed = imageVariant(baseImage, join(work, `${key}-r${round}-pushed`), `pull-through/${key}/${round}/pushed`);
          await skopeoPush(pushed, proxy, `bench/pushed-${key}-r${round}`, timeoutMs);
          await waitIdle(wharf.pid);
          t.pushed = await skopeoPull(pushed, proxy, `bench/pushed-${key}-r${round}`, timeoutMs);
          for (const op of OPS) samples.push({ ...base, op, server: op === "direct" ? "distribution" : "wharf", seconds: t[op] });
          log(`pull-through ${key} r${round}: direct ${t.direct.toFixed(2)} s, cold ${t.cold.toFixed(2)} s, warm ${t.warm.toFixed(2)} s, pushed ${t.pushed.toFixed(2)} s`);
          if (floor && image.blobs.length > 2) samples.push(...(await blobPhase(baseImage, { key, round, work, distribution, floor, proxy, timeoutMs })));
        } catch (e) {
          log(`FAILED pull-through ${key} r${round}: ${String(e?.message ?? e).split("\n")[0]}`);
          samples.push({ ...base, op: "round", failed: true, error: String(e?.message ?? e).slice(0, 2000), serverLog: wharf.log().slice(-3000) });
        } finally {
          for (const dir of [`${key}-r${round}`, `${key}-r${round}-pushed`]) removeDir(join(work, dir));
        }
      }
    }
  } finally {
    await wharf.stop().catch(() => undefined);
    removeDir(work);
  }
  return samples;
}

/** The blob phase of a cold pull, against the direct GETs and the floor's fill (see the header). */
async function blobPhase(baseImage, { key, round, work, distribution, floor, proxy, timeoutMs }) {
  const image = imageVariant(baseImage, join(work, `${key}-blobs-r${round}`), `pull-through-blobs/${key}/${round}`);
  const repo = `bench/ptb-${key}-r${round}`;
  const base = { workload: "pull-through", case: key, round, bytes: image.bytes };
  await skopeoPush(image, distribution, repo, timeoutMs);
  const upstreamUrl = (b) => `${distribution.url}/v2/${repo}/blobs/${b.digest}`;
  const t = {
    "blobs direct": await getBlobs(image, upstreamUrl, timeoutMs),
    "blobs floor fill": await getBlobs(image, (b, i) => `${floor.url}/ptb-${key}-r${round}/${i}?from=${encodeURIComponent(upstreamUrl(b))}`, timeoutMs),
    "blobs cold": await getBlobs(image, (b) => `${proxy.url}/v2/pt/${repo}/blobs/${b.digest}`, timeoutMs),
  };
  log(`pull-through ${key} r${round} blob phase: direct ${t["blobs direct"].toFixed(2)} s, floor fill ${t["blobs floor fill"].toFixed(2)} s, cold ${t["blobs cold"].toFixed(2)} s`);
  return BLOB_OPS.map((op) => ({ ...base, op, server: op === "blobs direct" ? "distribution" : op === "blobs cold" ? "wharf" : "floor", seconds: t[op] }));
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
  const phases = [...new Set(mine.filter((s) => BLOB_OPS.includes(s.op)).map((s) => s.case))];
  if (phases.length) {
    lines.push(
      "",
      "The blob phase alone (curl, 6 at a time, every blob new to both): GET from distribution, the floor Worker's fill (fetch from distribution, stream to the client and put into R2 through tee(), nothing else), and Wharf's cold GET.",
      "",
      "| image | blobs direct | floor fill | floor fill / direct | Wharf cold | Wharf cold / direct | Wharf cold / floor fill |",
      "|---|---|---|---|---|---|---|",
    );
    for (const key of phases) {
      const m = Object.fromEntries(BLOB_OPS.map((op) => [op, median(mine.filter((s) => s.case === key && s.op === op).map((s) => s.seconds))]));
      const [d, f, c] = BLOB_OPS.map((op) => m[op]);
      lines.push(`| ${key} | ${fmt(d)} | ${fmt(f)} | ${x(f / d)} | ${fmt(c)} | ${x(c / d)} | ${x(c / f)} |`);
    }
  }
  return lines.join("\n");
}
