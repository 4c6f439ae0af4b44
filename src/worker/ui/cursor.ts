/**
 * Opaque page cursors: a repository list that stopped scanning at a name the visitor may not see
 * continues from a cursor that is that name sealed with AES-GCM (key derived from the registry's
 * secret), so the link carries no readable private name.
 */
import { base64url } from "../../oci/encoding";

const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();
let isolateSecret: string | undefined;

function keyFor(secret: string | undefined): Promise<CryptoKey> {
  // Without a configured secret, a per-isolate random one: cursors then work within one isolate only.
  const s = secret ?? (isolateSecret ??= base64url(crypto.getRandomValues(new Uint8Array(32)).buffer as ArrayBuffer));
  let k = keys.get(s);
  if (!k) {
    k = crypto.subtle
      .digest("SHA-256", enc.encode(`wharf-ui-cursor\0${s}`))
      .then((raw) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
    if (keys.size > 8) keys.clear();
    keys.set(s, k);
  }
  return k;
}

export async function seal(secret: string | undefined, text: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await keyFor(secret), enc.encode(text));
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ct), 12);
  return base64url(out.buffer as ArrayBuffer);
}

/** The sealed text, or null for anything we did not seal. */
export async function unseal(secret: string | undefined, token: string): Promise<string | null> {
  if (!/^[A-Za-z0-9_-]{20,2000}$/.test(token)) return null;
  try {
    const bin = atob(token.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (token.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
    const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, await keyFor(secret), bytes.slice(12));
    return new TextDecoder().decode(pt);
  } catch {
    return null;
  }
}
