/**
 * The isolate-wide budget of part buffers (src/worker/upload/buffer-budget.ts): its own rules, and sessions
 * that wait for a first buffer or write with a single one when the budget is short.
 */
import { describe, expect, it } from "vitest";
import { BufferPool, ByteBudget, uploadBuffers } from "../../../src/worker/upload/buffer-budget";
import { cut, finish, noise, openSession, PART, patch, patchAll, sha256, storedDigest } from "../harness";

describe("BufferPool", () => {
  it("hands back given buffers of the same size, keeps at most its maximum, and never a view", () => {
    const pool = new BufferPool(2);
    const a = pool.take(8);
    const b = pool.take(8);
    const c = pool.take(8);
    pool.give(a);
    pool.give(b);
    pool.give(c);
    pool.give(new Uint8Array(16).subarray(0, 8));
    expect(pool.size).toBe(2);
    const got = [pool.take(8), pool.take(8)];
    expect(got).toContain(a);
    expect(got).toContain(b);
    expect(pool.take(8)).not.toBe(c);
    pool.give(a);
    const other = pool.take(4); // another size empties the pool
    expect(other.length).toBe(4);
    expect(pool.size).toBe(0);
  });
});

describe("ByteBudget", () => {
  it("hands out bytes up to its limit, and never starves a lone taker", async () => {
    const b = new ByteBudget(10, 5);
    const six = await b.acquire(6);
    expect(b.tryAcquire(6)).toBeNull();
    let got = false;
    const waiter = b.acquire(6).then((l) => ((got = true), l));
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toBe(false);
    six.release();
    const again = await waiter;
    expect(b.inUse).toBe(6);
    const four = b.tryAcquire(4);
    expect(four).not.toBeNull();
    again.release();
    four!.release();
    expect(b.inUse).toBe(0);
    const big = await b.acquire(50); // larger than the limit: allowed when nothing else is held
    expect(b.inUse).toBe(50);
    big.release();
  });

  it("a lease its holder stopped renewing expires", async () => {
    const b = new ByteBudget(10, 5, 40);
    await b.acquire(10); // never released: its holder was cut off
    expect(b.tryAcquire(1)).toBeNull();
    await new Promise((r) => setTimeout(r, 60));
    expect(b.inUse).toBe(0);
    expect(b.tryAcquire(10)).not.toBeNull();
  });
});

describe("sessions under a short budget", () => {
  it("a chunk waits for a first buffer while the budget is exhausted", async () => {
    const data = noise(PART + 10);
    const loc = await openSession("budget/wait");
    const hold = await uploadBuffers.acquire(uploadBuffers.limit);
    let answered = false;
    const pending = patch(loc, data, 0).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    hold.release();
    expect((await pending).status).toBe(202);
    expect(uploadBuffers.inUse).toBe(0);
    expect((await finish(loc, await sha256(data))).status).toBe(201);
  });

  it("with room for one buffer only, parts are uploaded one at a time and the blob is exact", async () => {
    const data = noise(4 * PART + 99);
    const digest = await sha256(data);
    const held = uploadBuffers.limit - PART;
    const hold = await uploadBuffers.acquire(held);
    try {
      const loc = await openSession("budget/single");
      await patchAll(loc, cut(data, [3 * PART + 1, 7]));
      expect(uploadBuffers.inUse).toBe(held);
      const res = await finish(loc, digest);
      expect(res.status, await res.clone().text()).toBe(201);
      expect(await storedDigest(digest)).toBe(digest);
    } finally {
      hold.release();
    }
    expect(uploadBuffers.inUse).toBe(0);
  });
});
