import { mkdtempSync } from "node:fs";
import { it } from "vitest";
import { startWharf } from "./harness";
import { dockerCli } from "./dockerd";
import { buildImageArchive } from "./docker-images";
import { startDaemon } from "./wharf-daemon";
it("smoke", async () => {
  const w = await startWharf();
  const dir = mkdtempSync("/tmp/dsm-");
  const dm = await startDaemon(["--data-root", `${dir}/data`]);
  const d = dockerCli(dm.host);
  const show = async (args: string[]) => { const r = await d.docker(args); console.log(`$ docker ${args.join(" ")} -> ${r.code}\n${r.stdout}${r.stderr}`); return r; };
  try {
    const img = await buildImageArchive(`${dir}/img.tar`, `${w.host}/demo/small:1`);
    await show(["version"]);
    await show(["load", "-i", img.path]);
    await show(["images"]);
    await show(["push", `${w.host}/demo/small:1`]);
    await show(["tag", `${w.host}/demo/small:1`, `${w.host}/demo/other:2`]);
    await show(["push", `${w.host}/demo/other:2`]);
    await show(["rmi", `${w.host}/demo/small:1`, `${w.host}/demo/other:2`]);
    await show(["images"]);
    await show(["pull", `${w.host}/demo/small:1`]);
    await show(["inspect", `${w.host}/demo/small:1`]);
    await show(["history", `${w.host}/demo/small:1`]);
    await show(["save", "-o", `${dir}/out.tar`, `${w.host}/demo/small:1`]);
    await show(["ps"]);
    await show(["run", "--rm", `${w.host}/demo/small:1`]);
  } finally { console.log(dm.log()); await dm.stop(); await w.stop(); }
});
