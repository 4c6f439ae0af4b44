// PUT /<key> streams the request body into R2; GET /<key> streams the object back. Nothing else.
// PUT /<key>?part=<bytes> stores the body as a multipart object of parts of that size instead (the way a
// chunked push is stored), so the benchmark can tell the R2 simulator's multipart read cost from Wharf's.
// GET /<key>?from=<url> is the floor of a pull-through fill: fetch <url>, stream it to the client and,
// through tee(), into one R2 put under <key> at the same time (no digest check, no index, no links).
// /v2/... is the floor of a registry push (`registry`): the requests skopeo makes, each answered with the
// least a registry must do.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/v2/")) return registry(env.BUCKET, request, url);
    const key = url.pathname.slice(1);
    const from = url.searchParams.get("from");
    if (request.method === "GET" && from) return fill(env.BUCKET, key, from, ctx);
    if (request.method === "PUT") {
      const part = Number(url.searchParams.get("part") || 0);
      if (part > 0) return new Response(String(await putMultipart(env.BUCKET, key, request.body, part)));
      const obj = await env.BUCKET.put(key, request.body);
      return new Response(String(obj.size));
    }
    const obj = await env.BUCKET.get(key);
    return obj ? new Response(obj.body, { headers: { "Content-Length": String(obj.size) } }) : new Response("ok");
  },
};

async function putMultipart(bucket, key, body, partSize) {
  const mp = await bucket.createMultipartUpload(key);
  const parts = [];
  let buf = new Uint8Array(partSize);
  let fill = 0;
  let size = 0;
  const flush = async () => {
    parts.push(await mp.uploadPart(parts.length + 1, buf.subarray(0, fill)));
    buf = new Uint8Array(partSize);
    fill = 0;
  };
  for await (let chunk of body) {
    size += chunk.byteLength;
    while (chunk.byteLength > 0) {
      const n = Math.min(chunk.byteLength, partSize - fill);
      buf.set(chunk.subarray(0, n), fill);
      fill += n;
      chunk = chunk.subarray(n);
      if (fill === partSize) await flush();
    }
  }
  if (fill > 0 || parts.length === 0) await flush();
  await mp.complete(parts);
  return size;
}

async function fill(bucket, key, from, ctx) {
  const up = await fetch(from);
  if (!up.ok || !up.body) return new Response(`upstream ${up.status}`, { status: 502 });
  const size = Number(up.headers.get("Content-Length"));
  const [client, store] = up.body.tee();
  const sized = new FixedLengthStream(size);
  ctx.waitUntil(Promise.all([store.pipeTo(sized.writable), bucket.put(key, sized.readable)]));
  return new Response(client, { headers: { "Content-Length": String(size) } });
}

/**
 * The push protocol with nothing but its R2 writes: GET /v2/ answers 200; a blob HEAD is one R2 head (of the
 * repository's own record, so each fresh repository uploads every blob, as with Wharf's links); POST
 * opens an upload with no state (its id is random); PATCH puts the body under the upload's key (one put;
 * one PATCH per blob, as skopeo sends);
 * the final PUT records the digest with one small put pointing at those bytes (no digest check, no
 * session, no link); a manifest PUT is one put. So `skopeo copy` against it costs the client's own
 * requests and the runtime's minimum per request, which no registry built on this runtime goes below.
 */
async function registry(bucket, request, url) {
  const m = /^\/v2\/(.+)\/(blobs\/uploads|blobs|manifests)\/([^/]*)$/.exec(url.pathname);
  if (!m) return url.pathname === "/v2/" ? Response.json({}) : new Response(null, { status: 404 });
  const [, name, kind, ref] = m;
  const empty = (status, headers = {}) => new Response(null, { status, headers: { "Content-Length": "0", ...headers } });
  if (kind === "blobs") {
    const obj = await bucket.head(`blobs/${name}/${ref}`);
    return obj ? empty(200, { "Content-Length": obj.customMetadata.size, "Docker-Content-Digest": ref }) : empty(404);
  }
  if (kind === "manifests") {
    if (request.method !== "PUT") return empty(404);
    const body = await request.arrayBuffer();
    const hex = [...new Uint8Array(await crypto.subtle.digest("SHA-256", body))].map((b) => b.toString(16).padStart(2, "0")).join("");
    await bucket.put(`manifests/${name}/${ref}`, body);
    return empty(201, { Location: `/v2/${name}/manifests/sha256:${hex}`, "Docker-Content-Digest": `sha256:${hex}` });
  }
  const id = ref || crypto.randomUUID();
  const at = { Location: `/v2/${name}/blobs/uploads/${id}`, "Docker-Upload-UUID": id };
  if (request.method === "POST") return empty(202, { ...at, Range: "0-0" });
  // Every body is read (an unread one stalls the client); one streamed without Content-Length (skopeo
  // compressing on the fly) is read whole first, since R2 puts only streams of known length.
  const known = request.headers.has("Content-Length");
  const body = request.body && (known ? request.body : await request.arrayBuffer());
  const stored = body ? (await bucket.put(`uploads/${id}`, body)).size : 0;
  // The Location carries the size, so the final PUT needs no state and no head (one PATCH per blob).
  const size = stored || Number(url.searchParams.get("size") || 0);
  if (request.method === "PATCH") return empty(202, { ...at, Location: `${at.Location}?size=${size}`, Range: `0-${Math.max(0, size - 1)}` });
  const digest = url.searchParams.get("digest");
  if (request.method !== "PUT" || !digest) return empty(400);
  await bucket.put(`blobs/${name}/${digest}`, "", { customMetadata: { data: `uploads/${id}`, size: String(size) } });
  return empty(201, { Location: `/v2/${name}/blobs/${digest}`, "Docker-Content-Digest": digest });
}
