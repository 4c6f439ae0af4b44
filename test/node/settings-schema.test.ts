// The settings schema (src/worker/settings.ts): the README documents exactly its rows, values are
// checked with messages that name the setting, and `npm start` refuses a malformed value before starting.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSettings, SETTING_NAMES, SETTINGS, SettingsError } from "../../src/worker/settings";

function readmeRows(): Map<string, string> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("\n## Configuration"), readme.indexOf("\n## ", readme.indexOf("\n## Configuration") + 1));
  const lines = section.split("\n");
  const first = lines.findIndex((l) => l.startsWith("| setting |"));
  const rows = new Map<string, string>();
  // One table: its rows run until the first line that is not a table row.
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    const names = [...line.split("|")[1].matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]);
    for (const n of names) rows.set(n, line);
  }
  return rows;
}

describe("settings schema", () => {
  it("the README's configuration table lists exactly the schema's settings, in one table", () => {
    const rows = readmeRows();
    expect([...rows.keys()].sort()).toEqual([...SETTING_NAMES].sort());
    for (const name of SETTING_NAMES) expect(rows.get(name)!.includes("A secret"), name).toBe(SETTINGS[name].secret);
  });

  it("gives every setting its default when unset or empty", () => {
    const s = parseSettings({ BLOB_REDIRECT: "", UPLOAD_PART_SIZE: undefined });
    expect(s.BLOB_REDIRECT).toBe(true);
    expect(s.UPLOAD_PART_SIZE).toBe(16 * 1024 * 1024);
    expect(s.AUTH_SERVICE).toBe("wharf");
    expect(s.AUTH_REVOKED_TOKENS).toEqual([]);
    expect(s.AUTH_CONFIG).toBeUndefined();
  });

  it("parses each kind", () => {
    const s = parseSettings({ DELETE_ENABLED: "false", MAX_CHUNK_BYTES: "100000000", AUTH_REVOKED_TOKENS: "a, b c", LOG_REQUESTS: "0" });
    expect(s.DELETE_ENABLED).toBe(false);
    expect(s.MAX_CHUNK_BYTES).toBe(100_000_000);
    expect(s.AUTH_REVOKED_TOKENS).toEqual(["a", "b", "c"]);
    expect(s.LOG_REQUESTS).toBe(false);
  });

  it("refuses a malformed value with one message naming the setting and what it expects", () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ BLOB_REDIRECT: "yes" }, /^setting BLOB_REDIRECT expects true or false, got "yes"$/],
      [{ UPLOAD_PART_SIZE: "1000" }, /^setting UPLOAD_PART_SIZE expects a whole number from 5242880 to/],
      [{ MAX_CHUNK_BYTES: "100MB" }, /^setting MAX_CHUNK_BYTES expects a whole number/],
      [{ BLOB_URL_TTL_SECONDS: "0" }, /^setting BLOB_URL_TTL_SECONDS expects a whole number from 1/],
      [{ AUTH_CONFIG: "{", AUTH_SIGNING_SECRET: "x".repeat(32) }, /^setting AUTH_CONFIG is not JSON/],
      [{ AUTH_CONFIG: "[]", AUTH_SIGNING_SECRET: "x".repeat(32) }, /^setting AUTH_CONFIG must be a JSON object/],
      [{ AUTH_CONFIG: "{}" }, /^setting AUTH_SIGNING_SECRET is required when AUTH_CONFIG is set/],
      [{ AUTH_SIGNING_SECRET: "short" }, /^setting AUTH_SIGNING_SECRET expects at least 32 characters$/],
    ];
    for (const [env, msg] of bad) {
      let err: unknown;
      try {
        parseSettings(env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(SettingsError);
      expect((err as Error).message).toMatch(msg);
    }
  });

  it("npm start refuses a malformed value before starting anything, naming it", () => {
    const data = mkdtempSync(join(tmpdir(), "wharf-settings-"));
    const run = spawnSync(process.execPath, ["scripts/start.mjs"], {
      env: { ...process.env, PORT: "1", WHARF_DATA: data, UPLOAD_PART_SIZE: "12abc" },
      encoding: "utf8",
      timeout: 30_000,
    });
    rmSync(data, { recursive: true, force: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/wharf: setting UPLOAD_PART_SIZE expects a whole number/);
  });
});
