#!/usr/bin/env node
// The `wharf` command: runs the TypeScript CLI (src/node/cli/main.ts) through tsx, so no build step is needed.
import { tsImport } from "tsx/esm/api";

const { main } = await tsImport("../src/node/cli/main.ts", import.meta.url);
process.exitCode = await main(process.argv.slice(2));
