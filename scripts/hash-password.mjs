#!/usr/bin/env node
// Hash a password for AUTH_CONFIG: printf %s 'the password' | node scripts/hash-password.mjs
// (the logic is src/node/cli/hash-password.ts).
import { importTs } from "./lib/import-ts.mjs";

const { hashPasswordCommand } = await importTs("src/node/cli/hash-password.ts");
let input = "";
if (process.stdin.isTTY) process.stderr.write("password (visible as you type; or pipe it in): ");
for await (const chunk of process.stdin) {
  input += chunk;
  if (process.stdin.isTTY && input.includes("\n")) break;
}
process.exitCode = await hashPasswordCommand(process.argv.slice(2), input, {
  stdout: (s) => process.stdout.write(`${s}\n`),
  stderr: (s) => process.stderr.write(`${s}\n`),
});
