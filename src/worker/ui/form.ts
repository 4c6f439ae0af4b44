/** Small urlencoded form bodies of the UI's POSTs; anything else is refused with a clear error. */
import { readBodyLimited } from "../http/body";
import { RegistryError } from "../errors";

export const MAX_FORM_BYTES = 16 * 1024;

export async function readForm(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get("Content-Type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw new RegistryError("UNSUPPORTED", "the UI's forms send application/x-www-form-urlencoded");
  }
  const tooLarge = () => new RegistryError("SIZE_INVALID", `form body over ${MAX_FORM_BYTES} bytes`);
  return new URLSearchParams(new TextDecoder().decode(await readBodyLimited(request, MAX_FORM_BYTES, tooLarge)));
}
