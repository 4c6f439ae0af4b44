#!/usr/bin/env node
// Mint a CI token offline: node scripts/token.mjs create --repo 'ci/*' --actions pull,push --ttl 30d
// (the logic is src/node/cli/token.ts, which the `wharf` CLI dispatches `wharf token` to).
import { readFile } from "node:fs/promises";
import { importTs } from "./lib/import-ts.mjs";

const { tokenCommand } = await importTs("src/node/cli/token.ts");
process.exitCode = await tokenCommand(process.argv.slice(2), {
  env: process.env,
  stdout: (s) => process.stdout.write(`${s}\n`),
  stderr: (s) => process.stderr.write(`${s}\n`),
  readFile: (p) => readFile(p, "utf8"),
});
