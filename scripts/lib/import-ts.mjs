// Import one of Wharf's TypeScript modules from a plain Node script: esbuild bundles it in memory
// (no build step, no files written) and Node imports the bundle from a data: URL.
import { build, stop } from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export async function importTs(relativePath) {
  const out = await build({
    entryPoints: [resolve(root, relativePath)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    logLevel: "error",
  });
  // esbuild keeps a service process for further builds; ours is done, and a service left running
  // prints a goroutine dump when this process exits abruptly.
  await stop();
  const code = out.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}
