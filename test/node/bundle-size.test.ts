// scripts/bundle-size.mjs, the deploy bundle check CI runs on the dry-run output (.ci/run).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { FREE_PLAN_LIMIT, measure } from "../../scripts/bundle-size.mjs";

const dir = mkdtempSync(join(tmpdir(), "wharf-bundle-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const check = (...args: string[]) => spawnSync(process.execPath, ["scripts/bundle-size.mjs", ...args], { encoding: "utf8" });

describe("bundle size check", () => {
  const index = Buffer.from("export default { fetch() { return new Response('x'.repeat(100)); } };\n".repeat(200));
  const wasm = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251));
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "index.js"), index);
  writeFileSync(join(dir, "sub", "hash.wasm"), wasm);
  writeFileSync(join(dir, "index.js.map"), "x".repeat(100_000));
  writeFileSync(join(dir, "README.md"), "not uploaded");

  it("sums the gzip size of every uploaded module, not source maps or the README", () => {
    const m = measure(dir);
    expect(m.files.sort()).toEqual(["index.js", join("sub", "hash.wasm")]);
    expect(m.raw).toBe(index.length + wasm.length);
    expect(m.gzip).toBe(gzipSync(index, { level: 9 }).length + gzipSync(wasm, { level: 9 }).length);
  });

  it("passes under the limit and fails over it, or when there is no output", () => {
    expect(FREE_PLAN_LIMIT).toBe(3_000_000);
    const ok = check("--measure", dir);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^bundle: .*gzip .* bytes; limit 3000000 bytes\)$/m);
    const over = check("--measure", dir, "--limit", "100");
    expect(over.status).toBe(1);
    expect(over.stderr).toMatch(/FAILED, over the Workers Free plan limit/);
    const none = check("--measure", join(dir, "missing"));
    expect(none.status).toBe(1);
  });
});
