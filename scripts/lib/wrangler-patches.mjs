// What scripts/start.mjs needs to know of scripts/patch-simulator.mjs's patches to wrangler (that file
// says what each one does and why).
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** wrangler's bundled CLI, relative to the checkout: the file the wrangler patches edit. */
export const WRANGLER_CLI = "node_modules/wrangler/wrangler-dist/cli.js";

/** Marks the patch that makes WHARF_WORKER_PORT the Worker's own socket in `wrangler dev`. */
export const WORKER_PORT_MARK = "/* wharf: the Worker's port from WHARF_WORKER_PORT (scripts/patch-simulator.mjs) */";

/** Whether the wrangler under `root` binds the Worker's socket to WHARF_WORKER_PORT. */
export function workerPortPatched(root) {
  try {
    return readFileSync(join(root, WRANGLER_CLI), "utf8").includes(WORKER_PORT_MARK);
  } catch {
    return false;
  }
}
