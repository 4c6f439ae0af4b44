/**
 * Small bodies read whole, refused past a limit without reading further: request bodies (manifests,
 * token forms) and upstream responses (the pull-through cache's manifests and tag lists). A response
 * declared too large is cancelled unread; a request's unread body is drained by the router.
 */
export async function readBodyLimited(message: Request | Response, max: number, tooLarge: () => Error): Promise<Uint8Array> {
  const declared = message.headers.get("Content-Length");
  if (declared !== null && Number(declared) > max) {
    if (message instanceof Response) await message.body?.cancel();
    throw tooLarge();
  }
  if (!message.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = message.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const ch of chunks) {
    out.set(ch, pos);
    pos += ch.byteLength;
  }
  return out;
}
