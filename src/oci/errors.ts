/**
 * The one error the shared OCI vocabulary throws: a value that breaks the spec's grammar or shape. It
 * says which rule (`what`); the Worker answers it with the matching OCI code (src/worker/errors.ts),
 * the client and CLI show its message.
 */
export type OciRule = "name" | "tag" | "digest" | "manifest";

export class OciFormatError extends Error {
  constructor(
    readonly what: OciRule,
    message: string,
  ) {
    super(message);
    this.name = "OciFormatError";
  }
}
