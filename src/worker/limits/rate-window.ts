/**
 * RateWindow: the Durable Object that counts events for one key (a client address's failed logins, or
 * one CI token's requests) over a sliding minute. Owned by src/worker/limits/.
 *
 * Why a Durable Object per key: a Durable Object is one instance in the world, so every isolate and every
 * data centre that handles a request from the same address talks to the same counter, and its methods run
 * one at a time, so "check and record" is atomic. Per-isolate memory would give an attacker a fresh budget
 * on every isolate; the Cache API and KV are per data centre or eventually consistent, so parallel guesses
 * would all pass before any count lands; Cloudflare's rate-limiting binding is per location and takes its
 * limit from wrangler.toml, not from a setting. The cost is one Durable Object call per password check
 * (not per request: successful checks are remembered per isolate, see auth/authenticate.ts), placed near
 * the first caller from that address.
 *
 * Protocol for logins (src/worker/limits/logins.ts), per client address:
 *   1. `reserve(limit)` BEFORE any password hashing. If `limit` attempts already fall in the last minute
 *      it returns the milliseconds until the oldest leaves the window: the request is answered 429
 *      TOOMANYREQUESTS with Retry-After and nothing is hashed. Otherwise it records this attempt as a
 *      failure in advance and returns 0 with the attempt's stamp.
 *   2. The password is hashed and compared.
 *   3. Success: `forgive(stamp)` removes the attempt. Failure: nothing more to do; it is already counted.
 *   A check that needs no hashing (credentials this isolate verified within the last minute) asks
 *   `peek(limit)` instead, which answers the same wait and records nothing: a locked address is refused
 *   whatever it sends, so the lockout never singles out the right password.
 *   Reserving first makes the limit exact even for parallel guesses: the object answers one call at a
 *   time, so of N simultaneous wrong passwords at most `limit` are hashed. A success never clears
 *   earlier failures (one known password must not reset the budget for guessing others).
 * Failures are kept in the object's storage (they must survive eviction, or an attacker could wait for
 * it); an alarm deletes them once the newest has left the window, so idle addresses leave nothing behind.
 *
 * Protocol for requests (src/worker/limits/requests.ts): `take(limit)` records the request and returns 0,
 * or returns the wait without recording when the minute is full. Request windows live in memory only: an
 * evicted object (idle for a while) starts a fresh minute, which is harmless for a request budget and
 * saves a storage write per request.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../config";
import { Window } from "./window";

const KEY = "failures";

export class RateWindow extends DurableObject<Env> {
  private failures = new Window();
  private requests = new Window();
  private loaded: Promise<void>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.loaded = ctx.blockConcurrencyWhile(async () => {
      this.failures = new Window((await ctx.storage.get<number[]>(KEY)) ?? []);
    });
  }

  /** Step 1 of the login protocol: 0 and a stamp when an attempt may go ahead, else the wait in ms. */
  async reserve(limit: number): Promise<{ waitMs: number; stamp: number }> {
    await this.loaded;
    const now = this.now(this.failures);
    const waitMs = this.failures.waitMs(limit, now);
    if (waitMs > 0) return { waitMs, stamp: 0 };
    this.failures.record(limit, now);
    await this.save();
    return { waitMs: 0, stamp: now };
  }

  /** Whether the address is locked (the wait in ms, 0: not), recording nothing: for checks that hash nothing. */
  async peek(limit: number): Promise<number> {
    await this.loaded;
    return this.failures.waitMs(limit, Date.now());
  }

  /** Step 3 on success: the reserved attempt was not a failure. */
  async forgive(stamp: number): Promise<void> {
    await this.loaded;
    const times = [...this.failures.events];
    const i = times.lastIndexOf(stamp);
    if (i < 0) return;
    times.splice(i, 1);
    this.failures = new Window(times);
    await this.save();
  }

  /** A request under a per-minute budget: 0 (counted) or the wait in ms (not counted). */
  async take(limit: number): Promise<number> {
    const now = this.now(this.requests);
    const waitMs = this.requests.waitMs(limit, now);
    if (waitMs === 0) this.requests.record(limit, now);
    return waitMs;
  }

  /** How many failures the window holds now (for tests and operators). */
  async failureCount(): Promise<number> {
    await this.loaded;
    return this.failures.events.length;
  }

  async alarm(): Promise<void> {
    const expires = this.failures.expiresAt();
    if (expires !== null && expires > Date.now()) return void (await this.ctx.storage.setAlarm(expires));
    this.failures = new Window();
    await this.ctx.storage.deleteAll();
  }

  /** Stamps are unique within a window, so `forgive` removes exactly the attempt it reserved. */
  private now(w: Window): number {
    const last = w.events[w.events.length - 1] ?? 0;
    return Math.max(Date.now(), last + 1);
  }

  private async save(): Promise<void> {
    const times = this.failures.events;
    if (!times.length) {
      await this.ctx.storage.deleteAll();
      return;
    }
    await this.ctx.storage.put(KEY, times);
    await this.ctx.storage.setAlarm(this.failures.expiresAt()!);
  }
}
