/**
 * The coordinator's own SQLite storage: the run's state (kv), the inventory of one run (m, mb, t, l, b,
 * d), and the reports of past runs. Nothing here is kept in memory between steps: a run resumes from
 * these rows after an eviction or a restart.
 *
 *   kv   (k, v)                                      run id, phase, cursors, counters, timings
 *   m    (repo, digest, uploaded, subject, children, fetch, doomed, fresh)   manifest revisions
 *   mb   (repo, manifest, blob)                      blobs a manifest references (config, layers)
 *   t    (repo, tag, digest, uploaded, etag, doomed) tags
 *   l    (repo, digest, uploaded, etag, state, cand, cetag, fresh)           layer links
 *   b    (digest, uploaded, etag, size, data, state, cand, cetag)           content index entries
 *   d    (key, uploaded, size, cand)                 data objects
 *   pl   (repo, digest, at, gone)                    last pulls of cached manifests (pull-through cache)
 *   live (repo, blob)                                mark's scratch: what surviving manifests reference
 *   runs (id, started, report)                       the last REPORTS_KEPT reports (JSON)
 */

export const REPORTS_KEPT = 20;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, started INTEGER, report TEXT);
CREATE TABLE IF NOT EXISTS m (repo TEXT, digest TEXT, uploaded INTEGER, subject TEXT, children TEXT, fetch INTEGER DEFAULT 0,
  doomed INTEGER DEFAULT 0, fresh INTEGER DEFAULT 0, PRIMARY KEY (repo, digest));
CREATE TABLE IF NOT EXISTS mb (repo TEXT, manifest TEXT, blob TEXT, PRIMARY KEY (repo, manifest, blob));
CREATE INDEX IF NOT EXISTS mb_blob ON mb (blob);
CREATE TABLE IF NOT EXISTS t (repo TEXT, tag TEXT, digest TEXT, uploaded INTEGER, etag TEXT, doomed INTEGER DEFAULT 0, PRIMARY KEY (repo, tag));
CREATE TABLE IF NOT EXISTS l (repo TEXT, digest TEXT, uploaded INTEGER, etag TEXT, state TEXT, cand INTEGER DEFAULT 0, cetag TEXT,
  fresh INTEGER DEFAULT 0, PRIMARY KEY (repo, digest));
CREATE INDEX IF NOT EXISTS l_digest ON l (digest);
CREATE TABLE IF NOT EXISTS b (digest TEXT PRIMARY KEY, uploaded INTEGER, etag TEXT, size INTEGER, data TEXT, state TEXT,
  cand INTEGER DEFAULT 0, cetag TEXT);
CREATE INDEX IF NOT EXISTS b_data ON b (data);
CREATE TABLE IF NOT EXISTS d (key TEXT PRIMARY KEY, uploaded INTEGER, size INTEGER, cand INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS live (repo TEXT, blob TEXT, PRIMARY KEY (repo, blob));
CREATE TABLE IF NOT EXISTS pl (repo TEXT, digest TEXT, at INTEGER, gone INTEGER DEFAULT 0, PRIMARY KEY (repo, digest));
CREATE INDEX IF NOT EXISTS live_blob ON live (blob);
`;

export type Row = Record<string, SqlStorageValue>;

export class GcDb {
  constructor(readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  all<T extends Row = Row>(query: string, ...args: SqlStorageValue[]): T[] {
    return this.sql.exec<T>(query, ...args).toArray();
  }

  one<T extends Row = Row>(query: string, ...args: SqlStorageValue[]): T | undefined {
    return this.all<T>(query, ...args)[0];
  }

  run(query: string, ...args: SqlStorageValue[]): void {
    this.sql.exec(query, ...args);
  }

  get(k: string): string | undefined {
    return this.one<{ v: string }>("SELECT v FROM kv WHERE k = ?", k)?.v;
  }

  num(k: string): number {
    return Number(this.get(k) ?? 0);
  }

  set(k: string, v: string | number): void {
    this.run("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", k, String(v));
  }

  add(k: string, n: number): void {
    if (n) this.set(k, this.num(k) + n);
  }

  /** Forget the inventory and the run state (reports stay). */
  clearRun(): void {
    for (const t of ["kv", "m", "mb", "t", "l", "b", "d", "live", "pl"]) this.run(`DELETE FROM ${t}`);
  }

  saveReport(id: string, started: number, report: unknown): void {
    this.run("INSERT OR REPLACE INTO runs (id, started, report) VALUES (?, ?, ?)", id, started, JSON.stringify(report));
    this.run(`DELETE FROM runs WHERE id NOT IN (SELECT id FROM runs ORDER BY started DESC LIMIT ${REPORTS_KEPT})`);
  }

  reports(limit = REPORTS_KEPT): unknown[] {
    return this.all<{ report: string }>("SELECT report FROM runs ORDER BY started DESC LIMIT ?", limit).map((r) => JSON.parse(r.report));
  }

  report(id: string): unknown | null {
    const r = this.one<{ report: string }>("SELECT report FROM runs WHERE id = ?", id);
    return r ? JSON.parse(r.report) : null;
  }
}
