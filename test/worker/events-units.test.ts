// WEBHOOKS parsing and filters, the envelope's shape, the signature, and what a broken WEBHOOKS does.
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/worker/index";
import type { Env } from "../../src/worker/config";
import { toEnvelopeEvent } from "../../src/worker/events/envelope";
import { signBody } from "../../src/worker/events/signature";
import { parseWebhooks, wants } from "../../src/worker/events/webhooks";
import { parseSettings, SettingsError } from "../../src/worker/settings";
import { consume, event, message, RECEIVER } from "./events-helpers";
import { BASE } from "./harness";

const secret = "0123456789abcdef";

describe("WEBHOOKS", () => {
  it("defaults to push and delete on every repository", () => {
    const [h] = parseWebhooks([{ url: "https://ci.example.com/hook", secret }]);
    expect([...h.actions].sort()).toEqual(["delete", "push"]);
    expect(wants(h, "push", "any/thing")).toBe(true);
    expect(wants(h, "delete", "x")).toBe(true);
    expect(wants(h, "pull", "x")).toBe(false);
  });

  it("filters by repository pattern and action", () => {
    const [h] = parseWebhooks([{ url: "http://h/1", secret, repositories: ["team/*", "exact"], actions: ["pull"] }]);
    expect(wants(h, "pull", "team/a/b")).toBe(true);
    expect(wants(h, "pull", "exact")).toBe(true);
    expect(wants(h, "pull", "team")).toBe(false);
    expect(wants(h, "pull", "exactly")).toBe(false);
    expect(wants(h, "push", "team/a")).toBe(false);
  });

  it("refuses malformed entries with a message naming the setting and the entry", () => {
    const bad: [unknown, RegExp][] = [
      [{}, /^setting WEBHOOKS a JSON list/],
      [[{ url: "ftp://x/", secret }], /^setting WEBHOOKS entry 0: url must be an absolute http\(s\) URL$/],
      [[{ url: "not a url", secret }], /entry 0: url must be an absolute/],
      [[{ url: "https://x/", secret: "short" }], /entry 0: secret must be a string of 16\+ characters/],
      [[{ url: "https://x/", secret }, { url: "https://x/", secret }], /entry 1: url https:\/\/x\/ is listed twice/],
      [[{ url: "https://x/", secret, actions: ["push", "tag"] }], /entry 0: actions: unknown action tag/],
      [[{ url: "https://x/", secret, actions: [] }], /entry 0: actions is empty/],
      [[{ url: "https://x/", secret, repositories: ["Bad Name"] }], /entry 0: repositories: invalid pattern/],
      [[{ url: "https://x/", secret, repository: ["a"] }], /entry 0: unknown field repository/],
    ];
    for (const [value, msg] of bad) {
      let err: unknown;
      try {
        parseSettings({ WEBHOOKS: JSON.stringify(value) });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(value)).toBeInstanceOf(SettingsError);
      expect((err as Error).message).toMatch(msg);
    }
    expect(() => parseSettings({ WEBHOOKS: "[" })).toThrow(/^setting WEBHOOKS is not JSON/);
  });

  it("a broken WEBHOOKS is one log line naming it, and an error response saying so (not a bare 500)", async () => {
    const errors = vi.spyOn(console, "error");
    const broken = { ...(env as unknown as Env), WEBHOOKS: '[{"url":"https://x/"}]', LOG_REQUESTS: "false" };
    const res = await worker.fetch(new Request(`${BASE}/v2/`), broken, createExecutionContext());
    const body = (await res.json()) as { errors: { message: string }[] };
    expect(res.status).toBe(500);
    expect(body.errors[0].message).toMatch(/^registry misconfigured: setting WEBHOOKS entry 0: secret must be/);
    const lines = errors.mock.calls.map((c) => String(c[0])).filter((l) => l.includes("misconfigured"));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).message).toMatch(/setting WEBHOOKS/);
    // The queue consumer says the same once per batch, and keeps the messages for a fixed deployment.
    errors.mockClear();
    const r = await consume([message(`${RECEIVER}/ok/broken`, event("a/b"))], { WEBHOOKS: "{" });
    expect(r.retryBatch).toMatchObject({ retry: true });
    expect(errors.mock.calls.map((c) => String(c[0])).filter((l) => l.includes("registry misconfigured: setting WEBHOOKS"))).toHaveLength(1);
    errors.mockRestore();
  });
});

describe("envelope", () => {
  it("has exactly distribution's fields", () => {
    const e = toEnvelopeEvent(
      { action: "push", repository: "team/app", digest: "sha256:" + "b".repeat(64), mediaType: "application/vnd.oci.image.manifest.v1+json", size: 512, tag: "1.0" },
      { id: "req-1", addr: "203.0.113.9", host: "registry.example.com", method: "PUT", useragent: "skopeo/1.9", actor: "alice", origin: "https://registry.example.com" },
      new Date("2026-12-01T20:00:00.000Z"),
    );
    expect(e).toEqual({
      id: e.id,
      timestamp: "2026-12-01T20:00:00.000Z",
      action: "push",
      target: {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: "sha256:" + "b".repeat(64),
        size: 512,
        length: 512,
        repository: "team/app",
        url: `https://registry.example.com/v2/team/app/manifests/sha256:${"b".repeat(64)}`,
        tag: "1.0",
      },
      request: { id: "req-1", addr: "203.0.113.9", host: "registry.example.com", method: "PUT", useragent: "skopeo/1.9" },
      actor: { name: "alice" },
      source: { addr: "registry.example.com" },
    });
  });

  it("a delete by digest carries no media type, size or tag", () => {
    const e = toEnvelopeEvent(
      { action: "delete", repository: "r", digest: "sha256:" + "c".repeat(64) },
      { id: "i", addr: "", host: "h", method: "DELETE", useragent: "", actor: "", origin: "http://h" },
    );
    expect(Object.keys(e.target).sort()).toEqual(["digest", "repository", "url"]);
  });
});

describe("Wharf-Signature", () => {
  it("is sha256=<hex HMAC-SHA256 of the body> (RFC 4231-style known answer)", async () => {
    expect(await signBody("key", "The quick brown fox jumps over the lazy dog")).toBe(
      "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
    );
  });
});
