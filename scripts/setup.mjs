#!/usr/bin/env node
// `npm run setup -- [options]`: generate the deployment's secrets and print (or --run) the exact wrangler
// commands. The logic and options are in src/node/cli/setup.ts; docs/deploy.md walks through it.
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importTs } from "./lib/import-ts.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { setupCommand } = await importTs("src/node/cli/setup.ts");

function exec(argv) {
  return new Promise((res) => {
    const p = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ["inherit", "pipe", "pipe"] });
    let output = "";
    p.stdout.on("data", (d) => { output += d; process.stdout.write(d); });
    p.stderr.on("data", (d) => { output += d; process.stderr.write(d); });
    p.on("error", (e) => res({ code: 127, output: String(e) }));
    p.on("exit", (code) => res({ code: code ?? 1, output }));
  });
}

process.exitCode = await setupCommand(process.argv.slice(2), root, process.env, {
  stdout: (s) => process.stdout.write(`${s}\n`),
  stderr: (s) => process.stderr.write(`${s}\n`),
  exec,
});
