/**
 * GcCoordinator: the Durable Object (one per registry, named "gc") that drives garbage collection runs,
 * online, beside pushes, in bounded alarm steps.
 *
 * A run, phase by phase (each alarm is one step of at most GC_STEP_OPERATIONS R2 operations; the cursor,
 * the inventory and the candidates live in this object's SQLite storage, db.ts, so a run resumes after an
 * eviction or a restart):
 *   inventory   list repositories/ (revisions with their recorded references, tags, links), then blobs/,
 *               then data/ (inventory.ts); fetch the manifests whose references are not in metadata;
 *   retention   decide (policy.ts, retention.ts) and, unless a dry run, delete the tags and manifests the
 *               policies drop, referrers whose subject is gone, and pull-through cached content nobody
 *               pulled for PROXY_EVICT_AFTER_SECONDS;
 *   mark        candidates (mark.ts): blobs no surviving manifest references, stray links, orphaned data.
 *               A dry run reports here and changes nothing;
 *   condemn     write _gc/active, then condemn each candidate (sweep.ts);
 *   recheck     list repositories/ again; pardon candidates that manifests or links written since the run
 *               began refer to;
 *   wait        until GC_CONDEMN_SECONDS after condemnation;
 *   sweep       entomb what is still condemned and delete it with its links and data; orphaned data;
 *   finish      delete _gc/active, save the report, log one line.
 *
 * Protocol against pushes
 * -----------------------
 * Nothing a push in progress, or a push that just finished, relies on is deleted. Three rules:
 * 1. Grace. Only content older than GC_GRACE_SECONDS (default a day) is ever a candidate: index entries
 *    and links uploaded since are left alone, and so is a blob any young link points at (a blob pushed
 *    whose manifest is not pushed yet). Orphaned data objects wait longer still: max(grace, the upload
 *    session TTL) + 1 h, by which time the session that wrote one has committed it or its alarm has
 *    deleted it, so no session owns one any more.
 * 2. Two-phase condemnation that any new reference revives (storage/condemnation.ts). An index entry or
 *    link goes live → condemned → tombstone by conditional puts on its etag; a writer's revive is also a
 *    conditional put (condemned → live), so of GC and a writer exactly one wins, and GC deletes only what
 *    it entombed. Revivers: every read on the push path (BlobStore.statInRepo: blob HEAD, the manifest
 *    reference check, mounts), the commit of a digest that is already indexed, and every link write.
 *    Writers never overwrite a tombstone: they wait for GC to delete it (the same step) and create anew.
 *    A client that HEADs a condemned blob revives it there; one that saw it live just before condemnation
 *    revives it when it pushes the manifest, as long as that is within GC_CONDEMN_SECONDS (otherwise its
 *    manifest PUT fails cleanly with MANIFEST_BLOB_UNKNOWN, and pushing again uploads the blob again).
 * 3. Re-check after write, against a re-look after condemn (a Dekker-style handshake). The inventory is a
 *    snapshot: a manifest or link written after the listing passed its repository is not in it, and its
 *    writer, having seen the blob live, had nothing to revive. So: GC writes _gc/active before it condemns
 *    anything, and lists repositories/ again after condemning (recheck); a writer, after writing a
 *    manifest or a link, reads _gc/active and, when present, looks at each blob again (BlobStore.confirm),
 *    reviving what it finds condemned. Either the writer's write came before GC's second listing, which
 *    then sees it and pardons, or the writer's re-check came after the condemnation and revives. A writer
 *    whose re-check finds the blob entombed (it took longer than GC_CONDEMN_SECONDS) removes its manifest
 *    and fails, so no manifest is ever left pointing at a deleted blob.
 * Tags moved during the mark: the move re-puts the manifest's revision, so the recheck sees it as fresh
 * and pardons its blobs; retention re-checks a tag's etag and a manifest's upload time and tags just
 * before deleting them, and keeps anything changed since the inventory.
 * Known narrow window: an index PUT whose child manifest retention deletes between the PUT's reference
 * check and its write (untagged children older than untaggedOlderThanSeconds only).
 *
 * Alarms. Each step schedules the next with setAlarm, always strictly later than the alarm that is
 * running (alarm.at + 1 ms at least). workerd (as `wrangler dev` runs it) loses an alarm that a handler
 * sets to the very millisecond it was itself scheduled for while other calls reach the object (status
 * polls): storage keeps the time, getAlarm() returns it, but it never fires. Measured with a bare Durable
 * Object: 4 of 4 chains stalled at the first such write, none with +1 ms. GC hit it on the step that ends
 * `wait`: its alarm was set for wait.until, it does no I/O, and Date.now() only advances on I/O, so "now"
 * was wait.until whenever the alarm fired on time, and the run sat in `sweep` for ever. As a second
 * line, a run whose alarm is LOST_ALARM_MS overdue with no step in progress is rescheduled by the next
 * status(), report() or start() call (`wharf gc` polls report() every second), and says so in the log.
 *
 * Runs never overlap: start() while a run is active returns that run. R2 has no listing of incomplete
 * multipart uploads through the Workers binding; their owner is the upload session, whose alarm aborts
 * them after UPLOAD_SESSION_TTL_SECONDS (R2 itself aborts leftovers after 7 days).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../config";
import { Repositories } from "../repository/client";
import { paths } from "../storage/paths";
import { Budget } from "./budget";
import { GcDb } from "./db";
import { fetchManifests, listBlobs, listData, listRepositories, recheckRepositories } from "./inventory";
import { candidateTotals, mark, pardonFresh } from "./mark";
import { emptyCounts, example, type GcReport, logLine } from "./report";
import { applyRetention, evaluateRetention } from "./retention";
import { readGcSettings } from "./settings";
import { condemnSome, pardonAll, sweepSome } from "./sweep";

const PHASES = [
  "inventory-repositories",
  "inventory-blobs",
  "inventory-data",
  "fetch",
  "retention",
  "retention-apply",
  "mark",
  "condemn",
  "recheck",
  "recheck-fetch",
  "wait",
  "sweep",
] as const;
type Phase = (typeof PHASES)[number];

const ORPHAN_MARGIN_MS = 3600_000;
/** An alarm this late, with no step running, is taken as lost and set again (see "Alarms" above). */
export const LOST_ALARM_MS = 30_000;
/** An alarm step that keeps failing this many times in a row ends the run as failed. */
const MAX_FAILURES = 5;

export interface StartOptions {
  dryRun?: boolean;
  trigger?: string;
}

export interface StepResult {
  phase: string;
  operations: number;
  done: boolean;
}

/**
 * When the next step's alarm fires: when the step asked (`wanted`), after the pause, and strictly after
 * `previous`, the alarm now running (or 0): never the same millisecond, which the runtime would drop.
 */
export function nextAlarmAt(wanted: number, now: number, pauseMs: number, previous: number): number {
  return Math.max(wanted, now + pauseMs, previous + 1);
}

export class GcCoordinator extends DurableObject<Env> {
  private readonly db: GcDb;
  /** A step is running in this instance (its awaits let status calls in meanwhile). */
  private stepping = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = new GcDb(ctx.storage.sql);
  }

  /** Start a run (or return the one running). */
  async start(opts: StartOptions = {}): Promise<{ id: string; started: boolean }> {
    const current = this.db.get("run");
    if (current) {
      await this.keepAlive();
      return { id: current, started: false };
    }
    const s = readGcSettings(this.env);
    const now = Date.now();
    const id = `${new Date(now).toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${crypto.randomUUID().slice(0, 8)}`;
    this.db.clearRun();
    const report: GcReport = {
      id,
      trigger: opts.trigger ?? "admin",
      dryRun: !!opts.dryRun,
      state: "running",
      phase: PHASES[0],
      startedAt: new Date(now).toISOString(),
      settings: { graceSeconds: s.graceSeconds, condemnSeconds: s.condemnSeconds, stepOperations: s.stepOperations },
      inventory: { repositories: 0, manifests: 0, tags: 0, links: 0, blobs: 0, dataObjects: 0 },
      removed: emptyCounts(),
      revived: 0,
      examples: { tags: [], manifests: [], blobs: [] },
      phases: {},
      r2Operations: 0,
      steps: 0,
      maxStepOperations: 0,
    };
    this.db.set("run", id);
    this.db.set("started", now);
    this.db.set("phase", PHASES[0]);
    this.db.set("phase.started", now);
    this.db.set("cut.grace", now - s.graceSeconds * 1000);
    this.db.set("cut.orphan", now - Math.max(s.graceSeconds, s.sessionTtlSeconds) * 1000 - ORPHAN_MARGIN_MS);
    this.saveRunning(report);
    await this.schedule(nextAlarmAt(now, now, s.stepPauseSeconds * 1000, 0));
    return { id, started: true };
  }

  /** The run in progress (if any) and the last reports, newest first. */
  async status(): Promise<{ active: GcReport | null; runs: GcReport[] }> {
    await this.keepAlive();
    return { active: this.running(), runs: this.db.reports() as GcReport[] };
  }

  async report(id: string): Promise<GcReport | null> {
    await this.keepAlive();
    const active = this.running();
    if (active?.id === id) return active;
    return this.db.report(id) as GcReport | null;
  }

  async alarm(): Promise<void> {
    this.stepping = true;
    try {
      await this.step();
    } finally {
      this.stepping = false;
    }
  }

  /** One bounded step of the run (what each alarm does; tests call it too, through the alarm). */
  async step(): Promise<StepResult> {
    const report = this.running();
    if (!report) return { phase: "idle", operations: 0, done: true };
    const s = readGcSettings(this.env);
    const budget = new Budget(this.env.BUCKET, s.stepOperations);
    const phase = this.db.get("phase") as Phase;
    let next: number | null = Date.now();
    try {
      const finished = await this.runPhase(phase, budget, report);
      this.db.set("failures", 0);
      if (finished) next = this.advance(phase, report);
      else if (phase === "wait") next = this.db.num("wait.until");
    } catch (err) {
      const failures = this.db.num("failures") + 1;
      this.db.set("failures", failures);
      console.error("gc step failed", phase, err);
      if (failures >= MAX_FAILURES) {
        report.error = `${phase}: ${String((err as Error)?.message ?? err)}`;
        this.account(report, budget);
        await this.finish(report, "failed");
        return { phase, operations: budget.used, done: true };
      }
      next = Date.now() + 1000 * 2 ** failures;
    }
    this.account(report, budget);
    if (next === null) {
      await this.finish(report, "done");
      return { phase, operations: budget.used, done: true };
    }
    report.phase = this.db.get("phase")!;
    this.saveRunning(report);
    await this.schedule(nextAlarmAt(next, Date.now(), s.stepPauseSeconds * 1000, this.db.num("alarm.at")));
    return { phase, operations: budget.used, done: false };
  }

  /** Set the alarm of the next step and remember when it is due (keepAlive compares against it). */
  private async schedule(at: number): Promise<void> {
    this.db.set("alarm.at", at);
    await this.ctx.storage.setAlarm(at);
  }

  /** A run whose alarm is long overdue while no step runs lost it: set it again (header, "Alarms"). */
  private async keepAlive(): Promise<void> {
    const run = this.db.get("run");
    if (!run || this.stepping) return;
    const due = this.db.num("alarm.at");
    const now = Date.now();
    if (now < due + LOST_ALARM_MS) return;
    console.error(JSON.stringify({ message: `gc run ${run}: its alarm (due ${new Date(due).toISOString()}) did not fire; scheduling the next step again`, gc: { id: run, phase: this.db.get("phase") } }));
    await this.schedule(nextAlarmAt(now, now, readGcSettings(this.env).stepPauseSeconds * 1000, due));
  }

  // --- phases ------------------------------------------------------------------------------------

  private async runPhase(phase: Phase, budget: Budget, report: GcReport): Promise<boolean> {
    const db = this.db;
    const s = readGcSettings(this.env);
    switch (phase) {
      case "inventory-repositories":
        return listRepositories(budget, db);
      case "inventory-blobs":
        return listBlobs(budget, db);
      case "inventory-data":
        return listData(budget, db);
      case "fetch":
      case "recheck-fetch":
        return fetchManifests(budget, db);
      case "retention":
        return evaluateRetention(db, s, db.num("started"));
      case "retention-apply":
        if (report.dryRun) {
          report.removed.tags = db.one<{ n: number }>("SELECT COUNT(*) AS n FROM t WHERE doomed = 1")!.n;
          report.removed.manifests = db.one<{ n: number }>("SELECT COUNT(*) AS n FROM m WHERE doomed = 1")!.n;
          for (const r of db.all<{ repo: string; tag: string }>("SELECT repo, tag FROM t WHERE doomed = 1 LIMIT 20")) example(report.examples.tags, `${r.repo}:${r.tag}`);
          for (const r of db.all<{ repo: string; digest: string }>("SELECT repo, digest FROM m WHERE doomed = 1 LIMIT 20")) example(report.examples.manifests, `${r.repo}@${r.digest}`);
          return true;
        }
        return applyRetention(budget, db, new Repositories(this.env.REPOSITORIES), s, {
          tag: (repo, tag) => {
            report.removed.tags++;
            example(report.examples.tags, `${repo}:${tag}`);
          },
          manifest: (repo, digest) => {
            report.removed.manifests++;
            example(report.examples.manifests, `${repo}@${digest}`);
          },
        });
      case "mark": {
        this.takeInventory(report);
        mark(db, { grace: db.num("cut.grace"), orphan: db.num("cut.orphan") });
        if (report.dryRun) {
          const t = candidateTotals(db);
          Object.assign(report.removed, { blobs: t.blobs, links: t.links, dataObjects: t.dataObjects, bytes: t.blobBytes + t.dataBytes });
          for (const r of db.all<{ digest: string }>("SELECT digest FROM b WHERE cand > 0 LIMIT 20")) example(report.examples.blobs, r.digest);
        }
        return true;
      }
      case "condemn": {
        if (!db.get("flag")) {
          await budget.bucket.put(paths.gcActive(), JSON.stringify({ run: report.id, since: new Date().toISOString() }));
          db.set("flag", 1);
          // Content an interrupted earlier run left condemned but that is referenced now: lift the mark.
          await pardonAll(
            budget,
            db.all<{ digest: string; cetag: string }>("SELECT digest, etag AS cetag FROM b WHERE state = 'condemned' AND cand = 0 LIMIT 200"),
            db.all<{ repo: string; digest: string; cetag: string }>("SELECT repo, digest, etag AS cetag FROM l WHERE state = 'condemned' AND cand = 0 LIMIT 200"),
          );
        }
        const done = await condemnSome(budget, db, report.id);
        if (done) db.set("condemned.at", Date.now());
        return done;
      }
      case "recheck":
        return recheckRepositories(budget, db);
      case "wait": {
        if (!db.get("pardoned")) {
          const { blobs, links } = pardonFresh(db);
          report.revived += blobs.length + links.length;
          await pardonAll(budget, blobs, links);
          db.set("pardoned", 1);
          db.set("wait.until", db.num("condemned.at") + s.condemnSeconds * 1000);
        }
        return Date.now() >= db.num("wait.until");
      }
      case "sweep":
        return sweepSome(budget, db, report.id, {
          blob: (digest, size) => {
            report.removed.blobs++;
            report.removed.bytes += size;
            example(report.examples.blobs, digest);
          },
          links: (n) => (report.removed.links += n),
          data: (_key, size) => {
            report.removed.dataObjects++;
            report.removed.bytes += size;
          },
          revived: () => report.revived++,
        });
    }
  }

  /** The phase after `phase`, or null when the run is over. Returns when the next step should run. */
  private advance(phase: Phase, report: GcReport): number | null {
    const now = Date.now();
    report.phases[phase] = (report.phases[phase] ?? 0) + (now - this.db.num("phase.started"));
    let i = PHASES.indexOf(phase) + 1;
    if (report.dryRun && PHASES[i] === "condemn") return null;
    if (i >= PHASES.length) return null;
    this.db.set("phase", PHASES[i]);
    this.db.set("phase.started", now);
    return now;
  }

  private takeInventory(report: GcReport): void {
    const n = (q: string) => this.db.one<{ n: number }>(q)!.n;
    report.inventory = {
      repositories: n("SELECT COUNT(*) AS n FROM (SELECT repo FROM m UNION SELECT repo FROM t UNION SELECT repo FROM l)"),
      manifests: n("SELECT COUNT(*) AS n FROM m"),
      tags: n("SELECT COUNT(*) AS n FROM t"),
      links: n("SELECT COUNT(*) AS n FROM l"),
      blobs: n("SELECT COUNT(*) AS n FROM b"),
      dataObjects: n("SELECT COUNT(*) AS n FROM d"),
    };
  }

  private account(report: GcReport, budget: Budget): void {
    report.steps++;
    report.r2Operations += budget.used;
    report.maxStepOperations = Math.max(report.maxStepOperations, budget.used);
  }

  private async finish(report: GcReport, state: "done" | "failed"): Promise<void> {
    if (this.db.get("flag")) {
      await this.env.BUCKET.delete(paths.gcActive()).catch(() => undefined);
      report.r2Operations++;
    }
    report.state = state;
    report.phase = "finished";
    report.finishedAt = new Date().toISOString();
    this.db.saveReport(report.id, this.db.num("started"), report);
    this.db.clearRun();
    await this.ctx.storage.deleteAlarm();
    console.log(logLine(report));
  }

  private running(): GcReport | null {
    const raw = this.db.get("report");
    return this.db.get("run") && raw ? (JSON.parse(raw) as GcReport) : null;
  }

  private saveRunning(report: GcReport): void {
    this.db.set("report", JSON.stringify(report));
  }
}
