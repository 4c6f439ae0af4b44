#!/usr/bin/env node
/**
 * `node scripts/bench/ui-pages.mjs [--tags 1000] [--rounds 20] [--json file]`: how long each web UI page
 * takes on `npm start` with 1,000 tags in one repository. A measurement, not a test (issue 15 asks for
 * every page under 200 ms there).
 *
 * Starts a fresh Wharf from a frozen copy of the checkout (lib/snapshot.mjs: an edit meanwhile would
 * reload wrangler dev) on a free loopback port with its own data folder and AUTH_CONFIG: `alice` may do
 * everything, anonymous visitors may pull `perf/*` only. Seeds through the API with Basic credentials:
 * `perf/app` with an index over two platforms (tag `latest`), an SBOM referring to it and `tags - 1`
 * more tags (every tenth an index, the rest the amd64 image); 20 more public repositories `perf/other-*`
 * and 10 private ones `team/secret-*`. Then times sequential GETs of each page (whole body read; 3
 * warm-ups, then `rounds` timed), once anonymous and once signed in as alice (session cookie from the
 * sign-in form), and prints median and p95 (nearest rank) per page and visitor; then the repository
 * list and two tag pages again with a push before each GET (untimed), so nothing the pages cache holds.
 * Stops the server and removes every temporary folder at the end, on error and on Ctrl-C (lib/procs.mjs).
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importTs } from "../lib/import-ts.mjs";
import { startWharf } from "./lib/servers.mjs";
import { snapshotCheckout } from "./lib/snapshot.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const TAGS = Number(opt("tags", 1000));
const ROUNDS = Number(opt("rounds", 20));
const JSON_OUT = opt("json", undefined);
const WARMUPS = 3;
const PASSWORD = "ui-pages-bench-pw";
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}`;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error("ui-pages:", ...a);

const { hashPassword } = await importTs("src/worker/auth/password.ts");
const AUTH_CONFIG = JSON.stringify({
  users: { alice: await hashPassword(PASSWORD, 1000) },
  rules: [
    { users: ["anonymous"], repositories: ["perf/*"], actions: ["pull"] },
    { users: ["alice"], repositories: ["*"], actions: ["*", "catalog"] },
  ],
});

const code = snapshotCheckout(root);
// Seeding sends the same Basic credentials 16 at a time: they are checked once (auth/authenticate.ts),
// so the failed-login limit stays at its default.
const wharf = await startWharf(code, { AUTH_CONFIG, AUTH_SIGNING_SECRET: "ui-pages-bench-signing-secret-0123456789" });
const base = wharf.url;

async function api(method, path, body, type) {
  const headers = { Authorization: BASIC };
  if (type) headers["Content-Type"] = type;
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(base + path, { method, headers, body });
    if (r.status < 300) return r;
    const text = await r.text();
    // wrangler dev now and then answers 503 "worker restarted mid-request" (README, Benchmark): retry
    if (r.status !== 503 || attempt > 3) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    await sleep(500);
  }
}
async function blob(repo, bytes) {
  await api("POST", `/v2/${repo}/blobs/uploads/?digest=${sha(bytes)}`, bytes, "application/octet-stream");
  return { digest: sha(bytes), size: Buffer.byteLength(bytes) };
}
async function manifest(repo, ref, body, type = OCI_MANIFEST) {
  await api("PUT", `/v2/${repo}/manifests/${ref}`, body, type);
  return sha(body);
}
async function image(repo, arch) {
  const config = await blob(repo, JSON.stringify({ architecture: arch, os: "linux", config: { Entrypoint: ["/app"], Env: ["A=1"] }, history: [{ created_by: "COPY . /" }] }));
  const layer = await blob(repo, `layer of ${repo} ${arch} `.repeat(100));
  return JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  });
}
async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) await fn(items[i++]); }));
}

async function seed() {
  const repo = "perf/app";
  const amd = await image(repo, "amd64");
  const arm = await image(repo, "arm64");
  const amdDigest = await manifest(repo, sha(amd), amd);
  const armDigest = await manifest(repo, sha(arm), arm);
  const index = JSON.stringify({
    schemaVersion: 2, mediaType: OCI_INDEX,
    manifests: [
      { mediaType: OCI_MANIFEST, digest: amdDigest, size: amd.length, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: OCI_MANIFEST, digest: armDigest, size: arm.length, platform: { os: "linux", architecture: "arm64" } },
    ],
  });
  const indexDigest = await manifest(repo, "latest", index, OCI_INDEX);
  const empty = await blob(repo, "{}");
  const sbom = await blob(repo, '{"spdxVersion":"SPDX-2.3"}');
  const referrer = JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: "application/spdx+json",
    config: { mediaType: "application/vnd.oci.empty.v1+json", ...empty },
    layers: [{ mediaType: "application/spdx+json", ...sbom }],
    subject: { mediaType: OCI_INDEX, digest: indexDigest, size: index.length },
  });
  await manifest(repo, sha(referrer), referrer);
  const tags = Array.from({ length: TAGS - 1 }, (_, i) => `build-${String(i).padStart(5, "0")}`);
  await pool(tags, 16, (t) => (t.endsWith("1") ? manifest(repo, t, index, OCI_INDEX) : manifest(repo, t, amd)));
  const others = [...Array.from({ length: 20 }, (_, i) => `perf/other-${i}`), ...Array.from({ length: 10 }, (_, i) => `team/secret-${i}`)];
  await pool(others, 8, async (r) => manifest(r, "v1", await image(r, "amd64")));
  return { repo, amdDigest, indexDigest, repush: () => manifest(repo, "latest", index, OCI_INDEX) };
}

/** A session cookie for alice, through the sign-in form as a browser gets one. */
async function signIn() {
  const form = await fetch(`${base}/sign-in`);
  const csrfCookie = /wharf_csrf=([^;]+)/.exec(form.headers.get("set-cookie") ?? "")?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrfCookie || !csrf) throw new Error("sign-in form without a CSRF token");
  const r = await fetch(`${base}/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { Cookie: `wharf_csrf=${csrfCookie}`, Origin: base, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, username: "alice", password: PASSWORD }),
  });
  const session = /wharf_session=([^;]+)/.exec(r.headers.get("set-cookie") ?? "")?.[1];
  if (r.status !== 303 || !session) throw new Error(`sign-in: ${r.status}`);
  return `wharf_session=${session}`;
}

/** `before` (untimed) runs ahead of each GET: e.g. a push, so that nothing cached for the page holds. */
async function time(path, cookie, before) {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < WARMUPS + ROUNDS; i++) {
    if (before) await before();
    const s = performance.now();
    const r = await fetch(base + path, { headers: cookie ? { Cookie: cookie } : {} });
    const body = await r.text();
    const ms = performance.now() - s;
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.slice(0, 300)}`);
    bytes = body.length;
    if (i >= WARMUPS) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const rank = (p) => times[Math.max(0, Math.ceil(p * times.length) - 1)];
  return { median: rank(0.5), p95: rank(0.95), max: times[times.length - 1], bytes };
}

try {
  const t0 = Date.now();
  const { repo, amdDigest, indexDigest, repush } = await seed();
  log(`seeded ${TAGS} tags in ${repo}, 20 more public and 10 private repositories in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const cookie = await signIn();
  const pages = [
    ["`/` repositories (20 a page)", "/", true],
    [`\`/r/${repo}\` first 100 tags`, `/r/${repo}`, true],
    [`\`/r/${repo}?after=build-00500\` a later page`, `/r/${repo}?after=build-00500`, true],
    [`\`/r/${repo}?n=1000\` all tags on one page`, `/r/${repo}?n=1000`, true],
    [`\`/r/${repo}:latest\` index (2 platforms, 1 referrer)`, `/r/${repo}:latest`, true],
    [`\`/r/${repo}@${indexDigest.slice(0, 15)}…\` the index by digest`, `/r/${repo}@${indexDigest}`, true],
    [`\`/r/${repo}@${amdDigest.slice(0, 15)}…\` image (layers, config)`, `/r/${repo}@${amdDigest}`, true],
    [`\`/r/${repo}:build-00002/delete\` confirmation`, `/r/${repo}:build-00002/delete`, false],
    ["`/getting-started`", "/getting-started", true],
    ["`/sign-in` (no storage: the floor of a page)", "/sign-in", true],
  ];
  const results = [];
  for (const [label, path, anonymous] of pages) {
    const anon = anonymous ? await time(path) : undefined;
    const signed = await time(path, cookie);
    results.push({ label, path, anonymous: anon, signedIn: signed });
    log(`${path}: anonymous ${anon ? anon.median.toFixed(1) : "-"} ms, signed in ${signed.median.toFixed(1)} ms`);
  }
  // The same pages right after a push (`latest` pushed again: a new summary version, so no tag listing
  // cached for the repository holds): what the first visitor after a push waits.
  for (const [label, path] of [
    ["`/` right after a push", "/"],
    [`\`/r/${repo}\` right after a push`, `/r/${repo}`],
    [`\`/r/${repo}?n=1000\` right after a push`, `/r/${repo}?n=1000`],
  ]) {
    const anon = await time(path, undefined, repush);
    const signed = await time(path, cookie, repush);
    results.push({ label, path, afterPush: true, anonymous: anon, signedIn: signed });
    log(`${path} after a push: anonymous ${anon.median.toFixed(1)} ms, signed in ${signed.median.toFixed(1)} ms`);
  }
  const f = (r) => (r ? `${r.median.toFixed(0)} / ${r.p95.toFixed(0)} ms` : "—");
  console.log(`\n${TAGS} tags in ${repo}; median / p95 of ${ROUNDS} sequential GETs after ${WARMUPS} warm-ups; load average ${(await import("node:os")).loadavg()[0].toFixed(2)}\n`);
  console.log("| page | anonymous | signed in | HTML |\n|---|---|---|---|");
  for (const r of results) console.log(`| ${r.label} | ${f(r.anonymous)} | ${f(r.signedIn)} | ${Math.round(r.signedIn.bytes / 1000)} kB |`);
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ tags: TAGS, rounds: ROUNDS, results }, null, 2));
} finally {
  await wharf.stop();
}
