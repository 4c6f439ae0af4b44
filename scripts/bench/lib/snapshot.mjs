/**
 * A frozen copy of the checkout for one benchmark run.
 *
 * `wrangler dev` watches its sources and config: when a file of the checkout changes (an edit, a
 * `git merge`, another helper's checkout step), it rebuilds and reloads the Worker, and its proxy answers
 * every request in flight that is not a GET/HEAD with 503 "Your worker restarted mid-request" (wrangler's
 * ProxyWorker: the fetch to the old Worker fails while the new one is starting; GET and HEAD are retried,
 * so only long PATCH/PUT uploads show it). Reproduced by touching bench/floor/worker.js during a 300 MB
 * PUT to the floor: 503 at once. So the servers and the wharf CLI run from this copy (src, scripts, bin,
 * bench/floor, configuration; node_modules linked), which nothing edits while the run lasts, and every
 * measurement of the run is of one version of the code.
 */
import { cpSync, existsSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupLater } from "./procs.mjs";

const COPY = ["src", "scripts", "bin", "bench", "wrangler.toml", "package.json", "tsconfig.json", "tsconfig.node.json"];

export function snapshotCheckout(root) {
  const dir = cleanupLater(mkdtempSync(join(tmpdir(), "wharf-bench-code-")));
  for (const entry of COPY) {
    if (existsSync(join(root, entry))) cpSync(join(root, entry), join(dir, entry), { recursive: true, filter: (p) => !p.includes("/.wrangler") });
  }
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}
