// Failed-login limits per client address and the optional per-CI-token request budget, through the
// real Worker and the RateWindow Durable Object.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { mintCiToken } from "../../src/worker/auth/ci-token";
import type { Env } from "../../src/worker/config";
import { clientAddress, ipv6Prefix64 } from "../../src/worker/limits/logins";
import type { RateWindow } from "../../src/worker/limits/rate-window";
import { retryAfterSeconds, WINDOW_MS, Window } from "../../src/worker/limits/window";
import { authEnv, basic, bearer, call, errorCode, PASSWORDS, SECRET } from "./harness";

const from = (ip: string) => ({ "CF-Connecting-IP": ip });

async function tokenAs(e: Env, ip: string, password: string): Promise<Response> {
  return call(e, "GET", "/v2/token?service=wharf&scope=repository:team/app:pull", { auth: basic("alice", password), headers: from(ip) });
}

describe("failed logins per client address", () => {
  it("past the limit answers 429 TOOMANYREQUESTS with Retry-After, before any password hashing", async () => {
    const e = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "3" });
    const ip = "198.51.100.10";
    const hashing = vi.spyOn(crypto.subtle, "deriveBits");
    for (let i = 0; i < 3; i++) expect((await tokenAs(e, ip, "wrong")).status).toBe(401);
    expect(hashing).toHaveBeenCalledTimes(3); // the spy sees PBKDF2 when it runs
    hashing.mockClear();
    const res = await tokenAs(e, ip, "wrong");
    expect(res.status).toBe(429);
    expect(await errorCode(res)).toBe("TOOMANYREQUESTS");
    const after = Number(res.headers.get("Retry-After"));
    expect(after).toBeGreaterThanOrEqual(1);
    expect(after).toBeLessThanOrEqual(60);
    // The right password from the locked address is refused too, and nothing was hashed for either.
    expect((await tokenAs(e, ip, PASSWORDS.alice)).status).toBe(429);
    expect(hashing).not.toHaveBeenCalled();
    hashing.mockRestore();
  });

  it("refuses remembered credentials from a locked address too, so the lockout never singles out the right password", async () => {
    const e = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "2" });
    const ip = "198.51.100.15";
    expect((await tokenAs(e, ip, PASSWORDS.alice)).status).toBe(200); // now remembered by this isolate
    await tokenAs(e, ip, "wrong");
    await tokenAs(e, ip, "wrong");
    expect((await tokenAs(e, ip, "wrong")).status).toBe(429);
    expect((await tokenAs(e, ip, PASSWORDS.alice)).status).toBe(429);
    expect((await tokenAs(e, "198.51.100.16", PASSWORDS.alice)).status).toBe(200);
  });

  it("does not lock out the right password from another address", async () => {
    const e = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "2" });
    for (let i = 0; i < 3; i++) await tokenAs(e, "198.51.100.20", "wrong");
    expect((await tokenAs(e, "198.51.100.20", PASSWORDS.alice)).status).toBe(429);
    expect((await tokenAs(e, "198.51.100.21", PASSWORDS.alice)).status).toBe(200);
  });

  it("counts Basic credentials on /v2/ and the token endpoint (GET and POST) together", async () => {
    const e = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "3" });
    const ip = "198.51.100.30";
    expect((await call(e, "GET", "/v2/", { auth: basic("alice", "x"), headers: from(ip) })).status).toBe(401);
    expect((await tokenAs(e, ip, "y")).status).toBe(401);
    const form = "grant_type=password&username=alice&password=z&scope=repository:team/app:pull";
    const post = () =>
      call(e, "POST", "/v2/token", { body: form, headers: { ...from(ip), "Content-Type": "application/x-www-form-urlencoded", "Content-Length": String(form.length) } });
    expect((await post()).status).toBe(401);
    const locked = await call(e, "GET", "/v2/team/app/tags/list", { auth: basic("alice", "x"), headers: from(ip) });
    expect(locked.status).toBe(429);
    expect(locked.headers.get("Retry-After")).toBeTruthy();
    expect((await post()).status).toBe(429);
  });

  it("is exact under parallel guesses: of 10 at once, only the limit are checked", async () => {
    const e = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "4" });
    const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => tokenAs(e, "198.51.100.40", `wrong-${i}`).then((r) => r.status)));
    expect(statuses.filter((s) => s === 401)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
  });

  it("parallel requests with the same credentials are one check: the right password 12 times at once is never refused; a wrong one is one failure", async () => {
    const e = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "2" });
    const ip = "198.51.100.45";
    const right = await Promise.all(Array.from({ length: 12 }, () => call(e, "GET", "/v2/", { auth: basic("bob", PASSWORDS.bob), headers: from(ip) }).then((r) => r.status)));
    expect(right).toEqual(Array(12).fill(200));
    const wrong = await Promise.all(Array.from({ length: 12 }, () => tokenAs(e, ip, "same-wrong").then((r) => r.status)));
    expect(wrong).toEqual(Array(12).fill(401));
    const id = env.LIMITER!.idFromName(`login:${ip}`);
    expect(await runInDurableObject(env.LIMITER!.get(id), (o: RateWindow) => o.failureCount())).toBe(1);
    // Other guesses still meet the limit.
    expect((await tokenAs(e, ip, "another-wrong")).status).toBe(401);
    expect((await tokenAs(e, ip, "third-wrong")).status).toBe(429);
  });

  it("a correct password is not a failure, and does not clear earlier ones", async () => {
    const e = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "3" });
    const ip = "198.51.100.50";
    expect((await tokenAs(e, ip, "wrong")).status).toBe(401);
    expect((await tokenAs(e, ip, "wrong")).status).toBe(401);
    expect((await call(e, "GET", "/v2/", { auth: basic("bob", PASSWORDS.bob), headers: from(ip) })).status).toBe(200);
    expect((await tokenAs(e, ip, "wrong")).status).toBe(401);
    expect((await tokenAs(e, ip, "wrong")).status).toBe(429);
    const id = env.LIMITER!.idFromName(`login:${ip}`);
    expect(await runInDurableObject(env.LIMITER!.get(id), (o: RateWindow) => o.failureCount())).toBe(3);
  });

  it("defaults to 10 a minute; 0 turns it off", async () => {
    const e = await authEnv();
    const ip = "198.51.100.60";
    for (let i = 0; i < 10; i++) expect((await tokenAs(e, ip, "wrong")).status).toBe(401);
    expect((await tokenAs(e, ip, "wrong")).status).toBe(429);
    const off = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "0" });
    for (let i = 0; i < 12; i++) expect((await tokenAs(off, "198.51.100.61", "wrong")).status).toBe(401);
  });

  it("keeps failures in storage across eviction, and the alarm keeps them until the window passes", async () => {
    const e = await authEnv({ LOGIN_FAILURES_PER_MINUTE: "2" });
    const ip = "198.51.100.70";
    await tokenAs(e, ip, "wrong");
    await tokenAs(e, ip, "wrong");
    const stub = env.LIMITER!.get(env.LIMITER!.idFromName(`login:${ip}`));
    const stored = await runInDurableObject(stub, async (_o: RateWindow, state) => ({
      times: await state.storage.get<number[]>("failures"),
      alarm: await state.storage.getAlarm(),
    }));
    expect(stored.times).toHaveLength(2);
    expect(stored.alarm).toBe(stored.times![1] + WINDOW_MS);
    expect((await tokenAs(e, ip, "wrong")).status).toBe(429);
  });
});

describe("client address", () => {
  it("is CF-Connecting-IP, IPv6 per /64, IPv4-mapped as IPv4", () => {
    const r = (ip?: string) => new Request("http://x/", { headers: ip ? { "CF-Connecting-IP": ip } : {} });
    expect(clientAddress(r("192.0.2.7"))).toBe("192.0.2.7");
    expect(clientAddress(r("2001:db8:1:2:3:4:5:6"))).toBe("2001:db8:1:2::/64");
    expect(clientAddress(r("2001:db8:1:2::9"))).toBe(clientAddress(r("2001:db8:1:2:ffff::1")));
    expect(ipv6Prefix64("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(ipv6Prefix64("::1")).toBe("0:0:0:0::/64");
    expect(clientAddress(r("::ffff:192.0.2.8"))).toBe("192.0.2.8");
    expect(clientAddress(r())).toBe("unknown");
  });
});

describe("sliding window", () => {
  it("locks at the limit until the oldest counted event is a minute old", () => {
    const w = new Window();
    w.record(3, 1000);
    w.record(3, 2000);
    expect(w.waitMs(3, 2500)).toBe(0);
    w.record(3, 3000);
    expect(w.waitMs(3, 3000)).toBe(1000 + WINDOW_MS - 3000);
    expect(w.waitMs(3, 1000 + WINDOW_MS)).toBe(0);
    expect(w.events).toEqual([2000, 3000]);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(59_001)).toBe(60);
  });
});

describe("requests per CI token", () => {
  it("CI_TOKEN_REQUESTS_PER_MINUTE refuses the token past its budget with 429, also through access tokens made from it", async () => {
    const e = await authEnv({ CI_TOKEN_REQUESTS_PER_MINUTE: "3" });
    const ci = await mintCiToken(SECRET, { repositories: ["team/*"], actions: ["pull"], ttlSeconds: 3600, name: "build" });
    const other = await mintCiToken(SECRET, { repositories: ["team/*"], actions: ["pull"], ttlSeconds: 3600, name: "deploy" });
    expect((await call(e, "GET", "/v2/", { auth: bearer(ci.token) })).status).toBe(200);
    expect((await call(e, "GET", "/v2/", { auth: basic("ci", ci.token) })).status).toBe(200);
    const t = await call(e, "GET", "/v2/token?service=wharf&scope=repository:team/app:pull", { auth: basic("ci", ci.token) });
    expect(t.status).toBe(200); // the token endpoint itself is not charged
    const access = ((await t.json()) as { token: string }).token;
    expect((await call(e, "GET", "/v2/", { auth: bearer(access) })).status).toBe(200);
    const over = await call(e, "GET", "/v2/team/app/tags/list", { auth: bearer(access) });
    expect(over.status).toBe(429);
    expect(await errorCode(over)).toBe("TOOMANYREQUESTS");
    expect(Number(over.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await call(e, "GET", "/v2/", { auth: bearer(other.token) })).status).toBe(200);
  });

  it("is off by default", async () => {
    const e = await authEnv();
    const ci = await mintCiToken(SECRET, { repositories: ["team/*"], actions: ["pull"], ttlSeconds: 3600, name: "x" });
    for (let i = 0; i < 5; i++) expect((await call(e, "GET", "/v2/", { auth: bearer(ci.token) })).status).toBe(200);
  });
});
