/**
 * HOOK (workload 2): push and pull with our own `wharf` CLI, as skopeo's rows are measured.
 *
 * The CLI is being built on branch `client` (bin/wharf.mjs) and was not on main when this benchmark was written,
 * so this returns null and the report says "not measured". To wire it in once bin/wharf.mjs lands: return
 *   { name: "wharf-cli", push(image, server, repo, timeoutMs), pull(image, server, repo, timeoutMs) }
 * where push/pull run the CLI with run() from procs.mjs (OCI layout `image.layout`, tag "latest",
 * registry `server.host`, plain HTTP), resolve with the seconds, and pull checks every blob of
 * `image.blobs` arrived (see transfer.mjs's skopeo functions). Add a chunked-push variant as its own client.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

export function wharfCli(root) {
  if (!existsSync(join(root, "bin", "wharf.mjs"))) return null;
  console.error("bench: bin/wharf.mjs exists but scripts/bench/lib/wharf-cli.mjs does not drive it yet: wharf CLI rows skipped");
  return null;
}
