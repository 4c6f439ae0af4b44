// PUT /<key> streams the request body into R2; GET /<key> streams the object back. Nothing else.
// PUT /<key>?part=<bytes> stores the body as a multipart object of parts of that size instead (the way a
// chunked push is stored), so the benchmark can tell the R2 simulator's multipart read cost from Wharf's.
// GET /<key>?from=<url> is the floor of a pull-through fill: fetch <url>, stream it to the client and,
// through tee(), into one R2 put under <key> at the same time (no digest check, no index, no links).
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
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
