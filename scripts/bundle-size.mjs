#!/usr/bin/env node
// The deploy bundle check: `node scripts/bundle-size.mjs [--outdir DIR] [--limit BYTES]` builds the Worker
// exactly as `npm run deploy` would (`npm run deploy -- --dry-run --outdir DIR`); `--measure DIR` skips the
// build and measures what an earlier dry run wrote there (how .ci/run uses it). It gzips every module
// wrangler would upload (everything in DIR but source maps and README.md) and fails when the build fails,
// wrote nothing, or the gzip total is over the Workers Free plan's 3 MB (`--limit`, bytes; default
// 3,000,000, the decimal reading of "3 MB", so the check errs on the safe side). Prints one line with the sizes.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

export const FREE_PLAN_LIMIT = 3_000_000;

/** Raw and gzip bytes of the modules in a dry-run output folder. */
export function measure(dir) {
  const files = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!name.endsWith(".map") && name !== "README.md") files.push(p);
    }
  };
  walk(dir);
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const bytes = readFileSync(f);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { files: files.map((f) => relative(dir, f)), raw, gzip };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: "string" }, measure: { type: "string" }, limit: { type: "string" } } });
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const own = !values.outdir && !values.measure;
  const outdir = resolve(values.measure ?? values.outdir ?? mkdtempSync(join(tmpdir(), "wharf-bundle-")));
  const limit = values.limit ? Number(values.limit) : FREE_PLAN_LIMIT;
  const build = values.measure ? { status: 0 } : spawnSync("npm", ["run", "--silent", "deploy", "--", "--dry-run", "--outdir", outdir], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
  });
  if (build.status !== 0) {
    process.stderr.write(build.stdout + build.stderr);
    console.error(`bundle: FAILED: npm run deploy -- --dry-run exited with ${build.status}`);
    process.exit(1);
  }
  if (!existsSync(outdir)) {
    console.error(`bundle: FAILED: no dry-run output in ${outdir}`);
    process.exit(1);
  }
  const m = measure(outdir);
  if (own) rmSync(outdir, { recursive: true, force: true });
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const line = `bundle: ${m.files.join(", ")}: ${kib(m.raw)}, gzip ${kib(m.gzip)} (${m.gzip} bytes; limit ${limit} bytes)`;
  if (!m.files.length) {
    console.error(`bundle: FAILED: the dry run wrote no modules to ${outdir}`);
    process.exit(1);
  }
  if (m.gzip > limit) {
    console.error(`${line}: FAILED, over the Workers Free plan limit`);
    process.exit(1);
  }
  console.log(line);
}
