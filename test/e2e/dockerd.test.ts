// The dockerd test helper itself: a daemon starts in a temporary folder, answers, and leaves nothing behind.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startDockerd } from "./dockerd";

describe("startDockerd", () => {
  it("starts a daemon on its own socket and removes every trace on stop", async () => {
    const d = await startDockerd();
    let pid = 0;
    try {
      expect(d.host).toBe(`unix://${d.dir}/d.sock`);
      const info = JSON.parse(await d.docker(["info", "--format", "{{json .}}"])) as { DockerRootDir: string; Driver: string; RegistryConfig: { InsecureRegistryCIDRs: string[] } };
      expect(info.DockerRootDir).toBe(`${d.dir}/d`);
      expect(info.Driver).toBe("vfs");
      expect(info.RegistryConfig.InsecureRegistryCIDRs).toContain("127.0.0.0/8");
      pid = Number((await import("node:fs")).readFileSync(`${d.dir}/p`, "utf8"));
      expect(pid).toBeGreaterThan(0);
    } finally {
      await d.stop();
    }
    expect(existsSync(d.dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
