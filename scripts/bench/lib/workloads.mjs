/**
 * The benchmark's workloads. Each takes the servers and the plan, runs every measurement against both
 * registries in alternating order (round r starts with Wharf when r is even, with distribution when odd),
 * and returns raw samples: { workload, case, server, round, ...figures }.
 */
import { measure, OCI_MANIFEST } from "./load.mjs";
import { removeDir, run, sampleRss } from "./procs.mjs";
import { cancelledWholeBlobPatch, chunkedPush, mountBlob, putManifest, seedTinyImage, walk } from "./registry-api.mjs";
import { memoryGroup, startTcpRelay } from "./servers.mjs";
import { floorGet, floorPut, pool, skopeoPull, skopeoPush } from "./transfer.mjs";
import { buildRandomImage, imageVariant } from "./images.mjs";
import { describeStorage, storedAs } from "./stored-as.mjs";
import { join } from "node:path";

const ordered = (registries, round) => (round % 2 === 0 ? registries : [...registries].reverse());
const log = (...a) => console.error("bench:", ...a);
/**
 * A failed operation is recorded (with the end of the server's log) and the run goes on: one failure in
 * a long run should not lose the rest; the report lists every failure.
 */
function failure(base, op, e, server) {
  const message = String(e?.message ?? e).slice(0, 2000);
  log(`FAILED ${base.client ?? ""} ${base.case} ${op} r${base.round} ${server.name}: ${message.split("\n")[0]}`);
  // The log's telling lines (reloads, errors), then its end.
  const lines = server.log().split("\n").filter((l) => /reload|restart|error|exception|503|uncaught/i.test(l) && !/^\s*stack:/.test(l));
  return { ...base, op, failed: true, error: message, serverLog: `${lines.slice(-40).join("\n")}\n---\n${server.log().slice(-3000)}` };
}

const cpuText = (cpu) => Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");

/** Seconds `fn` took. */
async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** `fn`'s result (its wall seconds), with the peak RSS (bytes) and CPU seconds of the server's processes meanwhile. */
async function withMemory(server, fn) {
  const sampler = sampleRss([server.pid], memoryGroup(server));
  try {
    const seconds = await fn();
    const { peakBytes, startBytes, cpuSeconds } = sampler.stop();
    return { seconds, memory: peakBytes, memoryAtStart: startBytes, cpu: cpuSeconds };
  } catch (e) {
    sampler.stop();
    throw e;
  }
}

/**
 * Workloads 1, 2 and 5: push then pull each image to a fresh repository, with skopeo (and later the wharf
 * CLI); the floor puts and gets the same blobs; memory is sampled during the pushes of the big image.
 */
export async function transferWorkload({ registries, floor, images, rounds, clients, work }) {
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    for (const [key, baseImage] of Object.entries(images)) {
      const timeoutMs = Math.max(120_000, (baseImage.bytes / 1e6) * 1000); // at least 1 MB/s, or it's broken
      for (const client of clients) {
        // Content nobody pushed before, to either registry: see imageVariant.
        const variantDir = join(work, `${key}-${client.name}-r${round}`);
        const image = imageVariant(baseImage, variantDir, `${key}/${client.name}/${round}`);
        try {
          for (const server of ordered(registries, round)) {
            const repo = `bench/${client.name}-${key}-r${round}`;
            const base = { workload: "transfer", case: key, client: client.name, server: server.name, round, bytes: image.bytes };
            let push;
            let pull;
            let stored;
            try {
              push = await withMemory(server, () => client.push(image, server, repo, timeoutMs));
              if (server.kind === "wharf") stored = describeStorage(image, storedAs(server.dataDir, image.blobs.map((b) => b.digest)));
              samples.push({ ...base, op: "push", seconds: push.seconds, memory: push.memory, memoryAtStart: push.memoryAtStart, cpu: push.cpu, stored });
              pull = await withMemory(server, () => client.pull(image, server, repo, timeoutMs));
              samples.push({ ...base, op: "pull", seconds: pull.seconds, memory: pull.memory, cpu: pull.cpu, stored });
            } catch (e) {
              samples.push(failure(base, push ? "pull" : "push", e, server));
              continue;
            }
            log(`${client.name} ${key} r${round} ${server.name}: push ${push.seconds.toFixed(2)} s (cpu ${cpuText(push.cpu)}), pull ${pull.seconds.toFixed(2)} s (cpu ${cpuText(pull.cpu)})${stored ? `; stored as ${stored}` : ""}`);
          }
        } finally {
          removeDir(variantDir);
        }
      }
      const image = baseImage;
      const base = { workload: "transfer", case: key, client: "curl", server: "floor", round, bytes: image.bytes };
      let put;
      let get;
      try {
        put = await withMemory(floor, () => floorPut(image, floor, `${key}-r${round}`, timeoutMs));
        samples.push({ ...base, op: "push", seconds: put.seconds, memory: put.memory, memoryAtStart: put.memoryAtStart, cpu: put.cpu });
        get = await withMemory(floor, () => floorGet(image, floor, `${key}-r${round}`, timeoutMs));
        samples.push({ ...base, op: "pull", seconds: get.seconds, memory: get.memory, cpu: get.cpu });
      } catch (e) {
        samples.push(failure(base, put ? "pull" : "push", e, floor));
        continue;
      }
      log(`floor ${key} r${round}: put ${put.seconds.toFixed(2)} s (cpu ${cpuText(put.cpu)}), get ${get.seconds.toFixed(2)} s (cpu ${cpuText(get.cpu)})`);
      // The floor registry: the same push by skopeo to a registry that does nothing but its R2 writes
      // (bench/floor), i.e. what skopeo's protocol and this runtime cost before any registry logic.
      if (floor.registry && clients.some((c) => c.name === "skopeo")) {
        const fr = { ...base, client: "skopeo", server: "floor registry", op: "push" };
        try {
          const push = await withMemory(floor, () => skopeoPush(image, floor.registry, `bench/${key}-r${round}`, timeoutMs));
          samples.push({ ...fr, seconds: push.seconds, cpu: push.cpu });
          log(`floor registry ${key} r${round}: skopeo push ${push.seconds.toFixed(2)} s (cpu ${cpuText(push.cpu)})`);
        } catch (e) {
          samples.push(failure(fr, "push", e, floor));
        }
      }
    }
  }
  return samples;
}

export const SKOPEO = { name: "skopeo", push: skopeoPush, pull: skopeoPull };

/**
 * Workload 3: manifest GET by tag and by digest, blob HEAD, at each connection count; GET by tag also
 * past our TCP front and through HAProxy in its place; and, as the runtime's floor for a request that
 * reads one small R2 object, a GET of a 400-byte object from the floor Worker.
 */
export async function loadWorkload({ registries, floor, rounds, connections, seconds }) {
  const repo = "bench/load";
  const seeded = new Map();
  for (const s of registries) seeded.set(s.name, await seedTinyImage(s.url, repo));
  const tiny = await fetch(`${floor.url}/load/tiny`, { method: "PUT", body: seeded.get(registries[0].name).manifest, signal: AbortSignal.timeout(30_000) });
  if (!tiny.ok) throw new Error(`floor PUT: ${tiny.status}`);
  const cases = (img) => [
    { case: "manifest GET by tag", path: `/v2/${repo}/manifests/latest`, method: "GET", headers: { Accept: OCI_MANIFEST } },
    { case: "manifest GET by digest", path: `/v2/${repo}/manifests/${img.manifestDigest}`, method: "GET", headers: { Accept: OCI_MANIFEST } },
    { case: "blob HEAD", path: `/v2/${repo}/blobs/${img.layer.digest}`, method: "HEAD", headers: {} },
  ];
  // What our TCP front (scripts/start.mjs) costs: the same GET by tag straight at the Worker's own socket,
  // where the front sends it (or at wrangler dev's port when the front goes there), and through HAProxy
  // in TCP mode in the front's place (when installed), a relay written in C for speed.
  const pastFront = [];
  for (const server of registries.filter((s) => s.workerUrl ?? s.innerUrl)) {
    const inner = server.workerUrl ?? server.innerUrl;
    pastFront.push({ server, case: "manifest GET by tag, past our TCP front", url: inner });
    const relay = await startTcpRelay(inner, "/v2/");
    if (relay) pastFront.push({ server, case: "manifest GET by tag, HAProxy (TCP) in our front's place", url: relay.url, relay });
  }
  try {
    return await loadRounds({ registries, floor, rounds, connections, seconds, repo, seeded, cases, pastFront });
  } finally {
    for (const p of pastFront) await p.relay?.stop();
  }
}

async function loadRounds({ registries, floor, rounds, connections, seconds, repo, seeded, cases, pastFront }) {
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    for (const c of connections) {
      for (const server of ordered(registries, round)) {
        for (const k of cases(seeded.get(server.name))) {
          const base = { workload: "load", case: k.case, connections: c, server: server.name, round };
          let r;
          try {
            r = await measure(server.url + k.path, { connections: c, seconds, method: k.method, headers: k.headers });
          } catch (e) {
            samples.push(failure(base, "load", e, server));
            continue;
          }
          samples.push({ ...base, ...r });
          log(`${k.case} c=${c} r${round} ${server.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms`);
        }
      }
      for (const p of round % 2 ? [...pastFront].reverse() : pastFront) {
        const base = { workload: "load", case: p.case, connections: c, server: p.server.name, round };
        try {
          const r = await measure(`${p.url}/v2/${repo}/manifests/latest`, { connections: c, seconds, headers: { Accept: OCI_MANIFEST } });
          samples.push({ ...base, ...r });
          log(`${p.case} c=${c} r${round} ${p.server.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50ms.toFixed(2)} ms`);
        } catch (e) {
          samples.push(failure(base, "load", e, p.server));
        }
      }
      // The floor also at its Worker's own socket, past wrangler dev's proxy as Wharf's front is.
      if (floor.workerUrl) {
        const g = await measure(`${floor.workerUrl}/load/tiny`, { connections: c, seconds });
        samples.push({ workload: "load", case: "floor: GET of a small R2 object, at the Worker's socket", connections: c, server: "floor", round, ...g });
        log(`floor small GET at its Worker's socket c=${c} r${round}: ${g.rps.toFixed(0)} req/s, p50 ${g.p50ms.toFixed(2)} ms`);
      }
      const f = await measure(`${floor.url}/load/tiny`, { connections: c, seconds });
      samples.push({ workload: "load", case: "floor: GET of a small R2 object", connections: c, server: "floor", round, ...f });
      log(`floor small GET c=${c} r${round}: ${f.rps.toFixed(0)} req/s, p50 ${f.p50ms.toFixed(2)} ms, p99 ${f.p99ms.toFixed(2)} ms`);
    }
  }
  return samples;
}

/**
 * Workload 4: a repository with `tags` tags and `repos` repositories, seeded with concurrent manifest PUTs
 * (and blob mounts); then the first page of tags, the full tag walk and the full catalog walk.
 */
export async function scaleWorkload({ registries, rounds, tags, repos, seedConcurrency = 16, walkPage = 1000, seedBudgetMs = 900_000 }) {
  const samples = [];
  const tagRepo = "bench/tags";
  for (const server of registries) {
    const deadline = Date.now() + seedBudgetMs;
    const check = () => { if (Date.now() > deadline) throw new Error(`seeding ${server.name} took longer than ${seedBudgetMs / 1000} s`); };
    const img = await seedTinyImage(server.url, tagRepo);
    let t0 = process.hrtime.bigint();
    const tagNames = Array.from({ length: tags }, (_, i) => `t${String(i).padStart(5, "0")}`);
    await pool(tagNames, seedConcurrency, async (t) => { check(); await putManifest(server.url, tagRepo, t, img.manifest); });
    const tagSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    t0 = process.hrtime.bigint();
    const repoNames = Array.from({ length: repos }, (_, i) => `bench/cat/r${String(i).padStart(4, "0")}`);
    await pool(repoNames, seedConcurrency, async (r) => {
      check();
      await mountBlob(server.url, r, img.config.digest, tagRepo);
      await mountBlob(server.url, r, img.layer.digest, tagRepo);
      await putManifest(server.url, r, "latest", img.manifest);
    });
    const repoSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    samples.push({ workload: "scale", case: "seed tags (manifest PUT)", server: server.name, round: 0, seconds: tagSeconds, rps: tags / tagSeconds });
    samples.push({ workload: "scale", case: "seed repositories (2 mounts + manifest PUT)", server: server.name, round: 0, seconds: repoSeconds, rps: repos / repoSeconds });
    log(`seeded ${server.name}: ${tags} tags in ${tagSeconds.toFixed(1)} s, ${repos} repositories in ${repoSeconds.toFixed(1)} s`);
  }
  for (let round = 0; round < rounds; round++) {
    for (const server of ordered(registries, round)) {
      const first = await walk(server.url, `/v2/${tagRepo}/tags/list?n=100`, "tags", 1);
      if (first.names.length < 100) throw new Error(`${server.name}: first tag page has ${first.names.length} tags`);
      const all = await walk(server.url, `/v2/${tagRepo}/tags/list?n=${walkPage}`, "tags");
      const want = tags + 1; // + "latest"
      if (new Set(all.names).size !== want) throw new Error(`${server.name}: tag walk found ${new Set(all.names).size} tags, expected ${want}`);
      // Without `n` (what skopeo list-tags asks): the registry picks the page size.
      const whole = await walk(server.url, `/v2/${tagRepo}/tags/list`, "tags");
      if (new Set(whole.names).size !== want) throw new Error(`${server.name}: tag walk without n found ${new Set(whole.names).size} tags, expected ${want}`);
      const cat = await walk(server.url, `/v2/_catalog?n=${walkPage}`, "repositories");
      const found = cat.names.filter((n) => n.startsWith("bench/cat/")).length;
      if (found !== repos) throw new Error(`${server.name}: catalog walk found ${found} of ${repos} repositories`);
      samples.push({ workload: "scale", case: "tags list, first page (n=100)", server: server.name, round, seconds: first.seconds, pages: first.pages, returned: first.names.length });
      samples.push({ workload: "scale", case: `tags list, full walk (n=${walkPage})`, server: server.name, round, seconds: all.seconds, pages: all.pages });
      samples.push({ workload: "scale", case: "tags list, full walk (no n)", server: server.name, round, seconds: whole.seconds, pages: whole.pages });
      samples.push({ workload: "scale", case: `catalog, full walk (n=${walkPage})`, server: server.name, round, seconds: cat.seconds, pages: cat.pages });
      log(`scale r${round} ${server.name}: first page ${(first.seconds * 1000).toFixed(1)} ms (${first.names.length} tags), tag walk ${all.seconds.toFixed(2)} s in ${all.pages} pages, without n ${whole.seconds.toFixed(3)} s in ${whole.pages} pages, catalog ${cat.seconds.toFixed(2)} s in ${cat.pages} pages`);
    }
  }
  return samples;
}

/**
 * Workload 6: a pull of a blob stored as a multipart object (what a chunked push stores), against the
 * floor's get of the same bytes stored as one object and as a multipart object. Wharf is pulled through
 * its redirect (307 to the signed blob route, followed by curl) and, on a second Wharf started with
 * BLOB_REDIRECT=false, streamed by the blob GET itself. Each round pushes its own random blob in 16 MiB
 * chunks (POST, PATCH with Content-Range, PUT ?digest=), so nothing is shared between rounds; and each
 * round runs on servers of its own, started by `startServers()` (resolving to `{ wharfs, floor, stop }`):
 * on servers that earlier workloads had used, the R2 simulator's isolate still held their garbage, and
 * the redirected pull of round 0 took 3x as long as that of round 2 (6.63 against 2.14 s, 2026-12-02).
 * The same fresh servers give item 6's measure of memory ("memory" samples): the peak RSS of a push
 * that is a server's first request, untouched by what earlier workloads left in its isolates.
 */
export async function multipartPullWorkload({ startServers, rounds, bytes, work }) {
  const samples = [];
  const chunk = 16 * 2 ** 20;
  for (let round = 0; round < rounds; round++) {
    const blob = buildRandomImage(join(work, `mp-r${round}`), 1, bytes).blobs.find((b) => b.size === bytes);
    const timeoutMs = Math.max(120_000, (bytes / 1e6) * 1000);
    let servers;
    try {
      servers = await startServers();
      const { wharfs, floor } = servers;
      const base = { workload: "pull", round, bytes };
      for (const [label, query] of [["floor: get of a single object", ""], ["floor: get of a multipart object", `?part=${chunk}`]]) {
        const key = `mp-r${round}-${query ? "multi" : "single"}`;
        const put = await withMemory(floor, async () => (await run("curl", ["-sS", "-f", "-H", "Expect:", "-T", blob.path, `${floor.url}/${key}${query}`], { timeoutMs })).seconds);
        if (!query) samples.push({ ...base, workload: "memory", case: "floor: one PUT", server: "floor", ...put });
        // At wrangler's port (its proxy on the way) and, for the single object, at the Worker's own socket:
        // where npm start's signed blob URLs point, so Wharf's redirected pull has no proxy on the way.
        const entries = [[label, floor.url], ...(query || !floor.workerUrl ? [] : [[`${label}, at its Worker's socket`, floor.workerUrl]])];
        for (const [name, url] of entries) {
          const r = await withMemory(floor, async () => (await run("curl", ["-sS", "-f", "-o", "/dev/null", `${url}/${key}`], { timeoutMs })).seconds);
          samples.push({ ...base, case: name, server: "floor", seconds: r.seconds, cpu: r.cpu });
          log(`pull r${round} ${name}: ${r.seconds.toFixed(2)} s (cpu ${cpuText(r.cpu)})`);
        }
      }
      // Memory (item 6): the floor's PUT above and the two Wharf uploads marked below are each the first
      // request of a server started for this round, so each peak RSS is that upload's own. The second
      // Wharf first takes skopeo's upload (one whole-blob PATCH), cancelled, so that the chunked push
      // after it still stores a multipart object.
      for (const [i, [label, w]] of wharfs.entries()) {
        const repo = `bench/mp-r${round}`;
        if (i === 1) {
          const m = await withMemory(w, () => timed(() => cancelledWholeBlobPatch(w.url, repo, blob, timeoutMs)));
          samples.push({ ...base, workload: "memory", case: "Wharf: one whole-blob PATCH (skopeo's upload)", server: "wharf", ...m });
        }
        const push = await withMemory(w, () => timed(() => chunkedPush(w.url, repo, blob, chunk, timeoutMs)));
        if (i === 0) samples.push({ ...base, workload: "memory", case: `Wharf: PATCHes of ${chunk / 2 ** 20} MiB (the wharf CLI's push)`, server: "wharf", ...push });
        const stored = describeStorage({ blobs: [blob] }, storedAs(w.dataDir, [blob.digest]));
        const r = await withMemory(w, async () => (await run("curl", ["-sS", "-f", "-L", "-o", "/dev/null", `${w.url}/v2/${repo}/blobs/${blob.digest}`], { timeoutMs })).seconds);
        samples.push({ ...base, case: label, server: "wharf", seconds: r.seconds, cpu: r.cpu, stored });
        log(`pull r${round} ${label}: ${r.seconds.toFixed(2)} s (cpu ${cpuText(r.cpu)}); stored as ${stored}`);
      }
    } catch (e) {
      samples.push(failure({ workload: "pull", case: "multipart pull", round }, "pull", e, servers?.floor));
    } finally {
      await servers?.stop();
      removeDir(join(work, `mp-r${round}`));
    }
  }
  return samples;
}
