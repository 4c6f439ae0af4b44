// PUT /<key> streams the request body into R2; GET /<key> streams the object back. Nothing else.
export default {
  async fetch(request, env) {
    const key = new URL(request.url).pathname.slice(1);
    if (request.method === "PUT") {
      const obj = await env.BUCKET.put(key, request.body);
      return new Response(String(obj.size));
    }
    const obj = await env.BUCKET.get(key);
    return obj ? new Response(obj.body, { headers: { "Content-Length": String(obj.size) } }) : new Response("ok");
  },
};
