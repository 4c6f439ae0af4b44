// Events from registry operations, through the real queue (producer → workerd's queue simulator →
// the Worker's queue handler) to the loopback receiver; WEBHOOKS is the test binding in vitest.config.ts.
import { describe, expect, it } from "vitest";
import type { Envelope, EnvelopeEvent } from "../../src/worker/events/envelope";
import { EVENTS_MEDIA_TYPE } from "../../src/worker/events/envelope";
import { hmacHex, received, SECRET, waitForDeliveries } from "./events-helpers";
import { OCI_MANIFEST, pushImage, req } from "./harness";

/** Events for `repository` that reached `path` so far, with the request each came in. */
async function eventsAt(path: string, repository: string): Promise<{ event: EnvelopeEvent; headers: Record<string, string>; body: string }[]> {
  return (await received(path)).flatMap((r) =>
    (JSON.parse(r.body) as Envelope).events.filter((e) => e.target.repository === repository).map((event) => ({ event, headers: r.headers, body: r.body })),
  );
}

async function waitForEvent(path: string, repository: string, pred: (e: EnvelopeEvent) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const hit = (await eventsAt(path, repository)).find((x) => pred(x.event));
    if (hit || Date.now() > deadline) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("registry events", () => {
  it("a manifest push reaches the endpoint as distribution's envelope, signed, after the push was answered", async () => {
    const { digest, body } = await pushImage("hooked/app", "v1");
    const hit = await waitForEvent("/ok/queued", "hooked/app", (e) => e.action === "push");
    expect(hit, "push event delivered").toBeDefined();
    const { event, headers, body: raw } = hit!;
    expect(headers["content-type"]).toBe(EVENTS_MEDIA_TYPE);
    expect(headers["wharf-signature"]).toBe(`sha256=${await hmacHex(SECRET, raw)}`);
    expect(event).toMatchObject({
      action: "push",
      target: {
        mediaType: OCI_MANIFEST,
        digest,
        size: body.length,
        length: body.length,
        repository: "hooked/app",
        url: `http://registry.test/v2/hooked/app/manifests/${digest}`,
        tag: "v1",
      },
      request: { method: "PUT", host: "registry.test" },
      actor: { name: "" },
      source: { addr: "registry.test" },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(event.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(event.request.id).toBeTruthy();
  });

  it("a delete by tag and a pull (GET, not HEAD) are events too, each only where asked for", async () => {
    const { digest } = await pushImage("hooked/lifecycle", "t");
    expect((await req("HEAD", "/v2/hooked/lifecycle/manifests/t")).status).toBe(200);
    const get = await req("GET", `/v2/hooked/lifecycle/manifests/${digest}`, { headers: { "User-Agent": "puller/1.0" } });
    expect(get.status).toBe(200);
    await get.arrayBuffer();
    expect((await req("DELETE", "/v2/hooked/lifecycle/manifests/t")).status).toBe(202);
    const del = await waitForEvent("/ok/queued", "hooked/lifecycle", (e) => e.action === "delete");
    expect(del?.event.target).toMatchObject({ digest, tag: "t", repository: "hooked/lifecycle" });
    expect(del?.event.request.method).toBe("DELETE");
    const pull = await waitForEvent("/ok/queued", "hooked/lifecycle", (e) => e.action === "pull");
    expect(pull?.event.target).toMatchObject({ digest, mediaType: OCI_MANIFEST, repository: "hooked/lifecycle" });
    expect(pull?.event.target.tag).toBeUndefined();
    expect(pull?.event.request.useragent).toBe("puller/1.0");
    const all = await eventsAt("/ok/queued", "hooked/lifecycle");
    expect(all.filter((x) => x.event.action === "pull")).toHaveLength(1); // the HEAD was not one
    // The default actions (push, delete) do not include pull.
    await waitForEvent("/ok/pushes", "hooked/lifecycle", (e) => e.action === "delete");
    expect((await eventsAt("/ok/pushes", "hooked/lifecycle")).map((x) => x.event.action).sort()).toEqual(["delete", "push"]);
  });

  it("repository patterns pick the endpoints, and unmatched repositories produce nothing", async () => {
    await pushImage("unhooked/app", "v1");
    await pushImage("hooked/team/api", "v1");
    await pushImage("hooked/solo", "v1");
    expect(await waitForEvent("/ok/team", "hooked/team/api", (e) => e.action === "push")).toBeDefined();
    expect(await waitForEvent("/ok/queued", "hooked/solo", (e) => e.action === "push")).toBeDefined();
    await waitForDeliveries("/ok/never", 1, 1000); // give stragglers of the same batches time to land
    expect(await eventsAt("/ok/team", "hooked/solo")).toEqual([]);
    for (const path of ["/ok/queued", "/ok/pushes", "/ok/team"]) expect(await eventsAt(path, "unhooked/app")).toEqual([]);
  });
});
