// The layers of docs/architecture.md, checked on the source: what may import what, where media types
// are spelled, and that storage, upload sessions and signing build no HTTP.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "..", "..");
const SRC = join(ROOT, "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const files = sources(SRC).map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, "utf8") }));

/**
 * The src/ folders a file imports from ("worker", "oci", "client", "node"). The CLI's admin commands
 * (`wharf token`, `wharf hash-password`) use the Worker's own token and password code, so what they make
 * is what the Worker checks: src/worker/auth counts as "worker-auth", the one part of the Worker the
 * Node tools may import.
 */
function importedLayers(file: { path: string; text: string }): Set<string> {
  const out = new Set<string>();
  for (const m of file.text.matchAll(/from "(\.[^"]+)"/g)) {
    const target = relative(SRC, resolve(ROOT, file.path, "..", m[1]));
    out.add(target.startsWith("worker/auth/") ? "worker-auth" : target.split("/")[0]);
  }
  return out;
}

describe("layers", () => {
  it("finds the source files", () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it("src/oci imports nothing but itself; src/client nothing from the Worker or Node tools; the Worker nothing from Node tools", () => {
    const allowed: Record<string, string[]> = {
      oci: ["oci"],
      client: ["oci", "client"],
      worker: ["oci", "client", "worker", "worker-auth"],
      node: ["oci", "client", "node", "worker-auth"],
    };
    const wrong = files.flatMap((f) => {
      const layer = relative(SRC, join(ROOT, f.path)).split("/")[0];
      return [...importedLayers(f)].filter((l) => !allowed[layer].includes(l)).map((l) => `${f.path} imports src/${l}`);
    });
    expect(wrong).toEqual([]);
  });

  it("each media type is spelled once, in src/oci/media-types.ts", () => {
    const spelled = files.filter((f) => f.path !== "src/oci/media-types.ts" && /"application\/vnd\./.test(f.text)).map((f) => f.path);
    expect(spelled).toEqual([]);
  });

  it("storage, upload sessions and signing build no response, header or registry error", () => {
    const domain = files.filter((f) => /^src\/worker\/(storage|upload|signing)\//.test(f.path));
    expect(domain.length).toBeGreaterThan(10);
    const http = domain.filter((f) => /new Response\b|new Headers\b|RegistryError|from "[^"]*\/errors"/.test(f.text)).map((f) => f.path);
    expect(http).toEqual([]);
  });
});
