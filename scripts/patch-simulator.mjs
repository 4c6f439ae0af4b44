#!/usr/bin/env node
/**
 * `npm install` / `npm ci` (postinstall): make the local R2 simulator read multipart objects at about
 * the speed it reads plain ones. Changes only how miniflare's R2 simulator copies bytes; nothing that
 * runs in production, and no behaviour (same bytes, ranges, errors).
 *
 * Why: miniflare assembles a GET of a multipart object (what every chunked push stores) by piping each
 * part's blob stream through a JavaScript TransformStream, chunk by small chunk. Measured with the
 * benchmark's floor Worker (bench/floor, `PUT ?part=16777216` stores a multipart object), 300 MB, this
 * machine: plain object GET 0.35 CPU-s, multipart 11.7 CPU-s (about 25 MB/s of workerd CPU). Reading
 * each part with a BYOB reader in 4 MiB pieces (`readAtLeast`) and writing those into the same
 * TransformStream: 0.79 CPU-s (1 MiB pieces: 1.1). A native IdentityTransformStream in its place hangs
 * (workerd 2026-04), so the JS stream stays.
 *
 * The edit is an exact text replacement in miniflare's bundled R2 worker, made only where the original
 * text is found (idempotent; after an upgrade that changes the code it says so and changes nothing).
 * `node scripts/patch-simulator.mjs --check` exits 1 unless every copy found is patched.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const COPIES = [
  "node_modules/wrangler/node_modules/miniflare/dist/src/workers/r2/bucket.worker.js", // npm start, bench
  "node_modules/miniflare/dist/src/workers/r2/bucket.worker.js", // vitest-pool-workers
];

const ORIGINAL = `          assert2(value !== null, msg), await value.pipeTo(identity2.writable, { preventClose: !0 }), this.#releaseBlob(blobId);
        }
        await identity2.writable.close();
      } catch (e) {
        await identity2.writable.abort(e);
      }`;

const MARK = "/* wharf: multipart read in 4 MiB pieces (scripts/patch-simulator.mjs) */";
const PATCHED = `          assert2(value !== null, msg), await wharfCopyPart(value, writer), this.#releaseBlob(blobId);
        }
        await writer.close();
      } catch (e) {
        await writer.abort(e);
      }`;
const HELPER = `${MARK}
async function wharfCopyPart(value, writer) {
  let reader;
  try {
    reader = value.getReader({ mode: "byob" });
  } catch {
    for await (const chunk of value) await writer.write(chunk);
    return;
  }
  for (;;) {
    const { done, value: chunk } = await reader.readAtLeast(4194304, new Uint8Array(4194304));
    if (chunk !== void 0 && chunk.byteLength > 0) await writer.write(chunk);
    if (done) return;
  }
}
`;
const START_ORIGINAL = "    return (async () => {\n      let i = 0;\n      try {\n        for (; i < requiredParts.length; i++) {";
const START_PATCHED = "    return (async () => {\n      let i = 0, writer = identity2.writable.getWriter();\n      try {\n        for (; i < requiredParts.length; i++) {";

const check = process.argv.includes("--check");
let unpatched = 0;
for (const rel of COPIES) {
  const file = join(root, rel);
  if (!existsSync(file)) continue;
  const text = readFileSync(file, "utf8");
  if (text.includes(MARK)) continue;
  const b = text.indexOf(ORIGINAL);
  const a = b < 0 ? -1 : text.lastIndexOf(START_ORIGINAL, b);
  if (a < 0 || b < a || text.indexOf(ORIGINAL, b + 1) >= 0) {
    console.warn(`patch-simulator: ${rel}: miniflare's multipart read is not the code this patch knows; left as it is (multipart pulls stay slow locally)`);
    unpatched++;
    continue;
  }
  if (check) {
    unpatched++;
    continue;
  }
  const out = HELPER + text.slice(0, a) + START_PATCHED + text.slice(a + START_ORIGINAL.length, b) + PATCHED + text.slice(b + ORIGINAL.length);
  writeFileSync(file, out);
  console.log(`patch-simulator: ${rel}: multipart reads in 4 MiB pieces`);
}
if (check && unpatched) process.exit(1);
