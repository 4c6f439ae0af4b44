// The events queue consumer: signed POSTs per endpoint, retries with backoff, dead letters.
import { describe, expect, it, vi } from "vitest";
import { backoff } from "../../src/worker/events/deliver";
import { EVENTS_MEDIA_TYPE } from "../../src/worker/events/envelope";
import { consume, event, hmacHex, hooks, message, RECEIVER, received, SECRET } from "./events-helpers";

describe("webhook delivery", () => {
  it("POSTs one signed envelope per endpoint per batch and acknowledges it", async () => {
    const url = `${RECEIVER}/ok/deliver-1`;
    const a = event("team/app");
    const b = event("team/app", { action: "delete" });
    const r = await consume([message(url, a), message(url, b)], { WEBHOOKS: hooks({ url }) });
    expect(r.explicitAcks.sort()).toEqual([`msg-${a.id}`, `msg-${b.id}`].sort());
    expect(r.retryMessages).toEqual([]);
    const got = await received("/ok/deliver-1");
    expect(got).toHaveLength(1);
    expect(got[0].method).toBe("POST");
    expect(got[0].headers["content-type"]).toBe(EVENTS_MEDIA_TYPE);
    expect(got[0].headers["wharf-signature"]).toBe(`sha256=${await hmacHex(SECRET, got[0].body)}`);
    expect(JSON.parse(got[0].body)).toEqual({ events: [a, b] });
  });

  it("signs with the endpoint's current secret (rotation needs no queue drain)", async () => {
    const url = `${RECEIVER}/ok/rotated`;
    const rotated = "a-brand-new-secret-for-this-hook";
    await consume([message(url, event("x/y"))], { WEBHOOKS: JSON.stringify([{ url, secret: rotated }]) });
    const [got] = await received("/ok/rotated");
    expect(got.headers["wharf-signature"]).toBe(`sha256=${await hmacHex(rotated, got.body)}`);
    expect(got.headers["wharf-signature"]).not.toBe(`sha256=${await hmacHex(SECRET, got.body)}`);
  });

  it("retries a failing endpoint with backoff, without touching the one that accepted", async () => {
    const ok = `${RECEIVER}/ok/mixed`;
    const bad = `${RECEIVER}/fail/mixed`;
    const e1 = event("r/a");
    const e2 = event("r/a");
    const e3 = event("r/a");
    const errors = vi.spyOn(console, "error");
    const r = await consume([message(ok, e1), message(bad, e2, 1), message(bad, e3, 3)], {
      WEBHOOKS: hooks({ url: ok }, { url: bad }),
      WEBHOOK_MAX_ATTEMPTS: "5",
    });
    expect(r.explicitAcks).toEqual([`msg-${e1.id}`]);
    // (the pool's queue result records which messages were retried, not their delays: the log line says it)
    expect(r.retryMessages.map((m: { msgId: string }) => m.msgId).sort()).toEqual([`msg-${e2.id}`, `msg-${e3.id}`].sort());
    expect(await received("/fail/mixed")).toHaveLength(1);
    const line = errors.mock.calls.map((c) => String(c[0])).find((l) => l.includes('"outcome":"retry"'));
    expect(JSON.parse(line!)).toMatchObject({ job: "webhook", url: bad, status: 500, events: 2, attempt: 3, retryInSeconds: backoff(1), error: "HTTP 500" });
    errors.mockRestore();
  });

  it("backs off exponentially from 30 s, capped at an hour", () => {
    expect([1, 2, 3, 4].map(backoff)).toEqual([30, 60, 120, 240]);
    expect(backoff(20)).toBe(3600);
  });

  it("treats a network error like a failed status", async () => {
    const url = "http://127.0.0.1:1/refused";
    const e = event("r/b");
    const r = await consume([message(url, e)], { WEBHOOKS: hooks({ url }) });
    expect(r.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual([`msg-${e.id}`]);
    expect(r.explicitAcks).toEqual([]);
  });

  it("dead-letters a message after WEBHOOK_MAX_ATTEMPTS, with a log line, and acknowledges it", async () => {
    const url = `${RECEIVER}/fail/dead?token=hidden`;
    const e = event("r/dead");
    const errors = vi.spyOn(console, "error");
    const r = await consume([message(url, e, 3)], { WEBHOOKS: hooks({ url }), WEBHOOK_MAX_ATTEMPTS: "3" });
    expect(r.explicitAcks).toEqual([`msg-${e.id}`]);
    expect(r.retryMessages).toEqual([]);
    const lines = errors.mock.calls.map((c) => String(c[0]));
    const dead = lines.find((l) => l.includes('"outcome":"dead-lettered"'));
    expect(JSON.parse(dead!)).toMatchObject({ job: "webhook", url: `${RECEIVER}/fail/dead`, ids: [e.id], attempt: 3 });
    expect(lines.join("\n")).not.toContain("hidden");
    errors.mockRestore();
  });

  it("keeps retrying when even the dead-letter queue is unavailable", async () => {
    const url = `${RECEIVER}/fail/no-dlq`;
    const e = event("r/c");
    const r = await consume([message(url, e, 3)], { WEBHOOKS: hooks({ url }), WEBHOOK_MAX_ATTEMPTS: "3", EVENTS_DLQ: undefined });
    expect(r.explicitAcks).toEqual([]);
    expect(r.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual([`msg-${e.id}`]);
  });

  it("drops messages for an endpoint no longer configured, and malformed messages", async () => {
    const e = event("r/gone");
    const r = await consume(
      [message(`${RECEIVER}/ok/gone`, e), { id: "junk", timestamp: new Date(), attempts: 1, body: { hello: 1 } }],
      { WEBHOOKS: hooks({ url: `${RECEIVER}/ok/other` }) },
    );
    expect(r.explicitAcks.sort()).toEqual([`msg-${e.id}`, "junk"].sort());
    expect(await received("/ok/gone")).toHaveLength(0);
  });

  it("recovers: a flaky endpoint gets the same events again on the retry", async () => {
    const url = `${RECEIVER}/flaky/1/again`;
    const e = event("r/flaky");
    const first = await consume([message(url, e, 1)], { WEBHOOKS: hooks({ url }) });
    expect(first.retryMessages).toHaveLength(1);
    const second = await consume([message(url, e, 2)], { WEBHOOKS: hooks({ url }) });
    expect(second.explicitAcks).toEqual([`msg-${e.id}`]);
    const got = await received("/flaky/1/again");
    expect(got).toHaveLength(2);
    expect(got[1].body).toBe(got[0].body);
  });
});
