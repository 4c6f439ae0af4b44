/**
 * From raw samples to medians, ratios and the markdown report (tables + the targets of issue 5).
 */
import { execFileSync } from "node:child_process";
import { cpus, release, totalmem } from "node:os";
import { gcMarkdown } from "./gc.mjs";

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const pick = (samples, where) => samples.filter((s) => !s.failed && Object.entries(where).every(([k, v]) => s[k] === v));
const med = (samples, where, field) => median(pick(samples, where).map((s) => s[field]));

const fmtS = (s) => (!Number.isFinite(s) ? "–" : s < 0.1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`);
const fmtX = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : "–");
const fmtMBs = (bytes, s) => (Number.isFinite(s) ? `${(bytes / 1e6 / s).toFixed(0)} MB/s` : "–");
const fmtMB = (b) => (Number.isFinite(b) && b >= 0 ? `${(b / 2 ** 20).toFixed(0)} MiB` : "–");
const fmtCpu = (s) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : "–");
const fmtN = (x) => (Number.isFinite(x) ? x.toFixed(0) : "–");
const fmtMs = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}` : "–");

export function machine() {
  const version = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8", timeout: 10_000 }).trim().split("\n")[0];
    } catch {
      return "?";
    }
  };
  return {
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? "?"}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    kernel: release(),
    node: process.version,
    wrangler: version("node_modules/.bin/wrangler", ["--version"]).replace(/^[^\d]*/, ""),
    skopeo: version("skopeo", ["--version"]),
    distribution: version("/usr/bin/docker-registry", ["--version"]),
    wrk: version("wrk", ["--version"]),
  };
}

/** Summary rows (medians) and the markdown report. */
export function summarize({ samples, images, plan, machine: m, date }) {
  const lines = [];
  const summary = { transfer: [], load: [], scale: [], memory: [], targets: [] };
  const P = (s) => lines.push(s);

  P(`Medians of ${plan.rounds} round(s), Wharf and distribution alternating; ${date}; ${m.cpu}, ${m.memory}, Linux ${m.kernel}, Node ${m.node}, wrangler ${m.wrangler}, ${m.distribution}, ${m.skopeo}.`);
  P("");
  const clients = [...new Set(samples.filter((s) => s.workload === "transfer" && s.server !== "floor").map((s) => s.client))];
  if (clients.length) {
    P("Push and pull (skopeo copy between an OCI layout on disk and the registry; fresh repository and empty blob-info cache each time). Floor: curl PUT/GET of the same blobs to a bare R2 Worker in the same `wrangler dev`. Floor registry: skopeo pushing the same image to that Worker's `/v2/` (bench/floor/worker.js: each request answered with nothing but its R2 writes: no session, no digest check, no index or links), behind the same TCP front as Wharf; pushes only.");
    P("");
    P("| image | op | distribution | Wharf | floor | floor registry | Wharf / distribution | Wharf / floor | Wharf / floor registry |");
    P("|---|---|---|---|---|---|---|---|---|");
  }
  for (const client of clients) {
    for (const [key, img] of Object.entries(images)) {
      for (const op of ["push", "pull"]) {
        const d = med(samples, { workload: "transfer", case: key, client, server: "distribution", op }, "seconds");
        const w = med(samples, { workload: "transfer", case: key, client, server: "wharf", op }, "seconds");
        const f = med(samples, { workload: "transfer", case: key, client: "curl", server: "floor", op }, "seconds");
        const fr = med(samples, { workload: "transfer", case: key, client, server: "floor registry", op }, "seconds");
        const label = `${client === "skopeo" ? "" : `${client}: `}${key} (${img.label}, ${(img.bytes / 1e6).toFixed(0)} MB)`;
        const frCell = Number.isFinite(fr) ? `${fmtS(fr)} (${fmtMBs(img.bytes, fr)})` : "";
        P(`| ${label} | ${op} | ${fmtS(d)} (${fmtMBs(img.bytes, d)}) | ${fmtS(w)} (${fmtMBs(img.bytes, w)}) | ${fmtS(f)} (${fmtMBs(img.bytes, f)}) | ${frCell} | ${fmtX(w / d)} | ${fmtX(w / f)} | ${Number.isFinite(fr) ? fmtX(w / fr) : ""} |`);
        summary.transfer.push({ client, image: key, op, bytes: img.bytes, distribution: d, wharf: w, floor: f, floorRegistry: fr, wharfOverDistribution: w / d, wharfOverFloor: w / f, wharfOverFloorRegistry: w / fr, floorRegistryOverFloor: fr / f });
      }
    }
  }
  const cpuRows = [];
  for (const client of clients) {
    for (const [key, img] of Object.entries(images)) {
      for (const op of ["push", "pull"]) {
        const cpu = (server, c) => median(pick(samples, { workload: "transfer", case: key, client: c, server, op }).map((s) => Object.values(s.cpu ?? {}).reduce((a, b) => a + b, 0)));
        const d = cpu("distribution", client);
        const w = cpu("wharf", client);
        const f = cpu("floor", "curl");
        cpuRows.push(`| ${client === "skopeo" ? "" : `${client}: `}${key} | ${op} | ${fmtCpu(d)} | ${fmtCpu(w)} | ${fmtCpu(f)} | ${fmtX(w / d)} | ${fmtX(w / f)} |`);
        const row = summary.transfer.find((t) => t.client === client && t.image === key && t.op === op);
        Object.assign(row, { cpuDistribution: d, cpuWharf: w, cpuFloor: f });
      }
    }
  }
  if (clients.length && !clients.includes("wharf-cli")) P("| wharf CLI | | not measured: bin/wharf.mjs was not in this checkout | | | | |");
  if (clients.length) P("");

  const storedRows = [];
  for (const client of clients) {
    for (const key of Object.keys(images)) {
      const kinds = [...new Set(pick(samples, { workload: "transfer", case: key, client, server: "wharf", op: "pull" }).map((s) => s.stored).filter(Boolean))];
      if (kinds.length) storedRows.push(`| ${client} | ${key} | ${kinds.join("; ")} |`);
    }
  }
  if (storedRows.length) {
    P("How Wharf stored the blobs each measured pull read (from the R2 simulator's database; every round and client pushes content no registry held before, so each pull reads what that push stored; share of the image's bytes):");
    P("");
    P("| client | image | stored as |");
    P("|---|---|---|");
    for (const r of storedRows) P(r);
    P("");
  }

  if (cpuRows.length) {
    P("CPU seconds (user + system) the server's processes used during the same operations: less sensitive than wall time to other load on a shared machine. Wharf counts our node front, wrangler's node processes and both workerd processes; the floor its wrangler and workerd.");
    P("");
    P("| image | op | distribution | Wharf | floor | Wharf / distribution | Wharf / floor |");
    P("|---|---|---|---|---|---|---|");
    for (const r of cpuRows) P(r);
    P("");
  }

  const big = Object.keys(images).find((k) => k === "big");
  if (big) {
    const peak = (server, op, group) => median(pick(samples, { workload: "transfer", case: big, client: server === "floor" ? "curl" : "skopeo", server, op }).map((s) => (group ? s.memory?.[group] : Object.values(s.memory ?? {}).reduce((a, b) => a + b, 0))));
    const atStart = (server) => median(pick(samples, { workload: "transfer", case: big, client: server === "floor" ? "curl" : "skopeo", server, op: "push" }).map((s) => s.memoryAtStart?.workerd ?? NaN));
    const wharfSum = median(pick(samples, { workload: "transfer", case: big, client: "skopeo", server: "wharf", op: "push" }).map((s) => (s.memory?.front ?? 0) + (s.memory?.workerd ?? 0)));
    const rows = {
      "distribution (docker-registry)": peak("distribution", "push", "registry"),
      "Wharf: node front + workerd processes": wharfSum,
      "  of which workerd (2 processes)": peak("wharf", "push", "workerd"),
      "  of which our node TCP front": peak("wharf", "push", "front"),
      "  (not counted: wrangler's own node processes)": peak("wharf", "push", "wrangler"),
      "floor: workerd processes during the same put": peak("floor", "push", "workerd"),
      // What the push itself added: workerd keeps memory from earlier work (the R2 simulator's dead
      // read buffers after multipart pulls: docs/benchmarks.md, "Memory across workloads").
      "Wharf workerd: RSS when the push began": atStart("wharf"),
      "Wharf workerd: growth during the push (peak minus that)": peak("wharf", "push", "workerd") - atStart("wharf"),
      "floor workerd: growth during the put": peak("floor", "push", "workerd") - atStart("floor"),
    };
    P(`Peak resident memory during the push of the ${images[big].label} image (sampled from /proc every 100 ms, sum over each group's processes):`);
    P("");
    P("| process | peak RSS |");
    P("|---|---|");
    for (const [k, v] of Object.entries(rows)) {
      P(`| ${k} | ${fmtMB(v)} |`);
      summary.memory.push({ process: k.trim(), peakBytes: v });
    }
    P("");
  }

  if (samples.some((s) => s.workload === "load")) {
    P(`Request rate (${plan.loadSeconds} s per run; GET with wrk, 2 threads; HEAD with our own generator, as wrk 4.1 cannot do HEAD; requests/s, latency p50 / p99 in ms):`);
    P("");
    P("| request | connections | distribution req/s | Wharf req/s | floor req/s | floor at its Worker's socket | Wharf / distribution | Wharf / floor | Wharf / floor at its socket | distribution p50 / p99 | Wharf p50 / p99 |");
    P("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const c of ["manifest GET by tag", "manifest GET by tag, past our TCP front", "manifest GET by tag, HAProxy (TCP) in our front's place", "manifest GET by digest", "blob HEAD"]) {
      if (!samples.some((s) => s.workload === "load" && s.case === c)) continue;
      for (const conns of plan.connections) {
        const q = (server, f) => med(samples, { workload: "load", case: c, connections: conns, server }, f);
        const d = q("distribution", "rps");
        const w = q("wharf", "rps");
        const f = med(samples, { workload: "load", case: "floor: GET of a small R2 object", connections: conns, server: "floor" }, "rps");
        const fs = med(samples, { workload: "load", case: "floor: GET of a small R2 object, at the Worker's socket", connections: conns, server: "floor" }, "rps");
        P(`| ${c} | ${conns} | ${fmtN(d)} | ${fmtN(w)} | ${fmtN(f)} | ${fmtN(fs)} | ${fmtX(w / d)} | ${fmtX(w / f)} | ${fmtX(w / fs)} | ${fmtMs(q("distribution", "p50ms"))} / ${fmtMs(q("distribution", "p99ms"))} | ${fmtMs(q("wharf", "p50ms"))} / ${fmtMs(q("wharf", "p99ms"))} |`);
        summary.load.push({ request: c, connections: conns, distribution: d, wharf: w, floor: f, floorAtSocket: fs, wharfOverDistribution: w / d, wharfOverFloor: w / f, wharfOverFloorAtSocket: w / fs, distributionP50: q("distribution", "p50ms"), distributionP99: q("distribution", "p99ms"), wharfP50: q("wharf", "p50ms"), wharfP99: q("wharf", "p99ms") });
      }
    }
    P("");
    P("floor: the bare Worker answering GET of a small object with one R2 get, under the same `wrangler dev`: the most this runtime serves for a request that reads R2 once. \"floor\" is measured at wrangler dev's port (through its proxy, as plain `wrangler dev` serves); \"at its Worker's socket\" past that proxy, as `npm start`'s front sends Wharf's requests (scripts/start.mjs). \"past our TCP front\": Wharf's GET by tag at the Worker's own socket, without our front; \"HAProxy (TCP) in our front's place\": the same through HAProxy 2.6 in TCP mode, one thread, a relay written in C for speed (what any front on this path costs).");
    P("");
  }

  if (samples.some((s) => s.workload === "pull")) {
    const cases = [...new Set(samples.filter((s) => s.workload === "pull" && !s.failed).map((s) => s.case))];
    const cpuOf = (s) => Object.values(s.cpu ?? {}).reduce((a, b) => a + b, 0);
    const floorSingle = med(samples, { workload: "pull", case: "floor: get of a single object" }, "seconds");
    const floorCpu = median(pick(samples, { workload: "pull", case: "floor: get of a single object" }).map(cpuOf));
    const bytes = pick(samples, { workload: "pull" })[0]?.bytes ?? NaN;
    P(`Pull of one ${(bytes / 2 ** 20).toFixed(0)} MiB blob pushed in 16 MiB chunks (so stored as a multipart object), with curl, against the floor's get of the same bytes (CPU: the server's processes):`);
    P("");
    const atSocket = "floor: get of a single object, at its Worker's socket";
    const floorSocket = med(samples, { workload: "pull", case: atSocket }, "seconds");
    P("| read | time | CPU | time / floor single get | time / floor single get at its Worker's socket | CPU / floor single get | stored as |");
    P("|---|---|---|---|---|---|---|");
    for (const c of cases) {
      const t = med(samples, { workload: "pull", case: c }, "seconds");
      const cpu = median(pick(samples, { workload: "pull", case: c }).map(cpuOf));
      const stored = pick(samples, { workload: "pull", case: c })[0]?.stored ?? (c.includes("multipart") ? "multipart" : c.includes("single") ? "single" : "");
      P(`| ${c} | ${fmtS(t)} (${fmtMBs(bytes, t)}) | ${fmtCpu(cpu)} | ${fmtX(t / floorSingle)} | ${fmtX(t / floorSocket)} | ${fmtX(cpu / floorCpu)} | ${stored} |`);
      summary.pull = [...(summary.pull ?? []), { read: c, seconds: t, cpu, overFloorSeconds: t / floorSingle, overFloorAtSocketSeconds: t / floorSocket, overFloorCpu: cpu / floorCpu }];
    }
    P("");
  }

  if (samples.some((s) => s.workload === "memory")) {
    const bytes = pick(samples, { workload: "memory" })[0]?.bytes ?? NaN;
    const cases = [...new Set(samples.filter((s) => s.workload === "memory" && !s.failed).map((s) => s.case))];
    const peakOf = (c) => median(pick(samples, { workload: "memory", case: c }).map((s) => s.memory?.workerd));
    const startOf = (c) => median(pick(samples, { workload: "memory", case: c }).map((s) => s.memoryAtStart?.workerd));
    const floorPeak = peakOf("floor: one PUT");
    P(`Peak workerd RSS while one ${(bytes / 2 ** 20).toFixed(0)} MiB blob is uploaded as the first request to a server started for it (the multipart pull workload's fresh servers, each round; the sum over the server's workerd processes, sampled every 100 ms):`);
    P("");
    P("| upload | workerd RSS at its start | peak | over the floor's peak | time |");
    P("|---|---|---|---|---|");
    for (const c of cases) {
      const peak = peakOf(c);
      const overFloorBytes = c.startsWith("floor") ? undefined : peak - floorPeak;
      P(`| ${c} | ${fmtMB(startOf(c))} | ${fmtMB(peak)} | ${overFloorBytes === undefined ? "" : `${(overFloorBytes / 2 ** 20).toFixed(0)} MiB`} | ${fmtS(med(samples, { workload: "memory", case: c }, "seconds"))} |`);
      summary.memoryFresh = [...(summary.memoryFresh ?? []), { upload: c, peakBytes: peak, startBytes: startOf(c), overFloorBytes }];
    }
    P("");
  }

  if (samples.some((s) => s.workload === "scale")) {
    P(`Scale (${plan.tags} tags in one repository, ${plan.repos} repositories; seeding with ${16} concurrent requests):`);
    P("");
    P("| operation | distribution | Wharf | Wharf / distribution |");
    P("|---|---|---|---|");
    const cases = [...new Set(samples.filter((s) => s.workload === "scale").map((s) => s.case))];
    for (const c of cases) {
      const d = med(samples, { workload: "scale", case: c, server: "distribution" }, "seconds");
      const w = med(samples, { workload: "scale", case: c, server: "wharf" }, "seconds");
      const extra = (server) => {
        const s = pick(samples, { workload: "scale", case: c, server })[0];
        if (s?.rps) return ` (${s.rps.toFixed(0)}/s)`;
        if (s?.returned) return ` (${s.returned} returned)`;
        if (s?.pages) return ` (${s.pages} pages)`;
        return "";
      };
      P(`| ${c} | ${fmtS(d)}${extra("distribution")} | ${fmtS(w)}${extra("wharf")} | ${fmtX(w / d)} |`);
      summary.scale.push({ operation: c, distribution: d, wharf: w, wharfOverDistribution: w / d });
    }
    P("");
  }

  const failures = samples.filter((s) => s.failed);
  if (failures.length) {
    P(`Failures (${failures.length}; left out of the medians above):`);
    P("");
    for (const f of failures) P(`- ${f.workload} ${f.client ?? ""} ${f.case} ${f.op} round ${f.round} on ${f.server}: ${f.error.split("\n").find((l) => /status|fatal|error/i.test(l))?.slice(0, 300) ?? f.error.split("\n")[0]}`);
    P("");
  }

  // The targets of issue 17.
  const targets = [];
  const small = summary.transfer.find((t) => t.client === "skopeo" && t.image === "small" && t.op === "push");
  if (small) {
    targets.push({ target: "skopeo push small ≤ 2x floor", value: small.wharfOverFloor, limit: 2, above: false });
    // Why it cannot be met, when it is not: the floor registry (skopeo's own requests, each answered with
    // only its R2 writes) over the curl floor is the part no registry on this runtime can remove.
    if (Number.isFinite(small.floorRegistry)) {
      targets.push({ target: "floor registry ≤ 2x floor, skopeo push small (if not, no registry can meet the row above)", value: small.floorRegistryOverFloor, limit: 2, above: false });
      targets.push({ target: "skopeo push small ≤ 2x floor registry", value: small.wharfOverFloorRegistry, limit: 2, above: false });
    }
  }
  for (const l of summary.load) {
    if ((l.request === "manifest GET by digest" || l.request === "blob HEAD") && l.connections >= 8) {
      targets.push({ target: `${l.request}, ${l.connections} conn ≥ 1.0x distribution`, value: l.wharfOverDistribution, limit: 1, above: true });
    }
    if (l.request === "manifest GET by tag") {
      targets.push({ target: `manifest GET by tag, ${l.connections} conn ≥ 0.95x floor`, value: l.wharfOverFloor, limit: 0.95, above: true });
      // The stricter reading: the floor past wrangler's proxy too, as Wharf's requests go.
      if (Number.isFinite(l.floorAtSocket)) targets.push({ target: `manifest GET by tag, ${l.connections} conn ≥ 0.95x floor at its Worker's socket`, value: l.wharfOverFloorAtSocket, limit: 0.95, above: true });
    }
  }
  for (const p of summary.pull ?? []) {
    if (!p.read.startsWith("Wharf")) continue;
    targets.push({ target: `multipart pull, ${p.read.replace(/^Wharf: /, "")} ≤ 1.5x floor single get (time)`, value: p.overFloorSeconds, limit: 1.5, above: false });
    // The stricter reading: the floor past wrangler's proxy too, as npm start's signed blob URLs go.
    if (Number.isFinite(p.overFloorAtSocketSeconds)) targets.push({ target: `multipart pull, ${p.read.replace(/^Wharf: /, "")} ≤ 1.5x floor single get at its Worker's socket (time)`, value: p.overFloorAtSocketSeconds, limit: 1.5, above: false });
  }
  for (const m of summary.memoryFresh ?? []) {
    if (m.overFloorBytes === undefined) continue;
    targets.push({ target: `${m.upload.replace(/^Wharf: /, "")}, fresh server: peak workerd RSS ≤ the floor's PUT + 100 MiB`, value: m.overFloorBytes / 2 ** 20, limit: 100, above: false, unit: "MiB" });
  }
  for (const walkRow of summary.scale.filter((r) => r.operation.startsWith("tags list, full walk"))) {
    targets.push({ target: `${walkRow.operation.replace(/^tags list, /, "tags list ")} < 5x distribution`, value: walkRow.wharfOverDistribution, limit: 5, above: false });
  }
  if (targets.length) {
    P("Targets (issue 17):");
    P("");
    P("| target | ratio (or amount) | met |");
    P("|---|---|---|");
    for (const t of targets) {
      const ok = Number.isFinite(t.value) && (t.above ? t.value >= t.limit : t.value <= t.limit);
      P(`| ${t.target} | ${t.unit ? `${fmtN(t.value)} ${t.unit}` : fmtX(t.value)} | ${ok ? "yes" : "no"} |`);
      summary.targets.push({ ...t, met: ok });
    }
    P("");
  }
  lines.push(...gcMarkdown(samples));
  return { markdown: lines.join("\n"), summary };
}
