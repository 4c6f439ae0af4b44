/**
 * How the coordinator schedules its steps (header of src/worker/gc/coordinator.ts, "Alarms"): every alarm
 * strictly later than the one running, since workerd loses an alarm a handler sets to its own scheduled
 * millisecond (the `wharf gc` stall in `sweep` under wrangler dev), and a run whose alarm was lost anyway
 * is scheduled again by the next status call.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type GcCoordinator, LOST_ALARM_MS, nextAlarmAt } from "../../src/worker/gc/coordinator";
import type { GcReport } from "../../src/worker/gc/report";
import { finishRun, gcStub } from "./gc-helpers";

/** The alarm the coordinator has set, and the due time it recorded for it. */
async function alarmOf(): Promise<{ alarm: number | null; due: number }> {
  return runInDurableObject(gcStub(), async (_o: GcCoordinator, state: DurableObjectState) => {
    const due = state.storage.sql.exec<{ v: string }>("SELECT v FROM kv WHERE k = 'alarm.at'").toArray()[0]?.v;
    return { alarm: await state.storage.getAlarm(), due: Number(due ?? 0) };
  });
}

describe("alarm scheduling", () => {
  it("the next alarm is never the millisecond of the one running, whatever the step asked for", () => {
    const t = 1_800_000_000_000;
    // The step ending `wait`: asked for now, and now is the alarm's own time (no I/O since it fired).
    expect(nextAlarmAt(t, t, 0, t)).toBe(t + 1);
    expect(nextAlarmAt(t - 5, t, 0, t)).toBe(t + 1);
    // Otherwise what was asked, after the pause.
    expect(nextAlarmAt(t + 5000, t, 0, t - 100)).toBe(t + 5000);
    expect(nextAlarmAt(t, t, 1000, t)).toBe(t + 1000);
    expect(nextAlarmAt(t, t, 0, 0)).toBe(t);
  });

  it("each step sets an alarm later than the one it ran on, and records when it is due", async () => {
    const { id } = await gcStub().start();
    let before = await alarmOf();
    expect(before.alarm).toBe(before.due);
    for (let i = 0; i < 200; i++) {
      const r = (await gcStub().report(id)) as GcReport;
      if (r.state !== "running") break;
      expect(await runDurableObjectAlarm(gcStub())).toBe(true);
      const after = await alarmOf();
      if (after.alarm === null) break; // finished
      expect(after.alarm).toBe(after.due);
      expect(after.alarm).toBeGreaterThan(before.due);
      before = after;
    }
    expect(((await gcStub().report(id)) as GcReport).state).toBe("done");
  });

  it("a run whose alarm was lost is scheduled again by the next status or report call", async () => {
    const { id } = await gcStub().start();
    // What workerd left behind: the run active, its alarm gone, its due time long past.
    const due = Date.now() - LOST_ALARM_MS - 1000;
    await runInDurableObject(gcStub(), async (_o: GcCoordinator, state: DurableObjectState) => {
      await state.storage.deleteAlarm();
      state.storage.sql.exec("INSERT OR REPLACE INTO kv (k, v) VALUES ('alarm.at', ?)", String(due));
    });
    expect((await alarmOf()).alarm).toBeNull();
    expect((await gcStub().report(id))?.state).toBe("running");
    const again = await alarmOf();
    expect(again.alarm).not.toBeNull();
    expect(again.alarm!).toBeGreaterThan(Date.now()); // after GC_STEP_PAUSE_SECONDS, like any step (a day in these tests)
    expect(again.due).toBe(again.alarm);
    // A due time that is merely recent is left alone (the alarm may just be about to fire).
    const soon = Date.now() + 60_000;
    await runInDurableObject(gcStub(), async (_o: GcCoordinator, state: DurableObjectState) => {
      await state.storage.setAlarm(soon);
      state.storage.sql.exec("INSERT OR REPLACE INTO kv (k, v) VALUES ('alarm.at', ?)", String(soon));
    });
    await gcStub().status();
    expect((await alarmOf()).alarm).toBe(soon);
    expect((await finishRun(id)).state).toBe("done");
  });
});
