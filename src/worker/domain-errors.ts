/**
 * What storage, upload sessions and signing report when an operation cannot be done as asked: facts in
 * the registry's own terms (which digest, at which offset an upload stands), with no HTTP in them.
 * errors.ts maps each kind to its OCI code and status in one table (`fromDomain`); the upload handler
 * adds the Range header from `offset`. A DomainError crosses the upload Durable Object's RPC boundary
 * as plain data (`toPlain` / `fromPlain`).
 */

/** Each kind with its default message. */
export const DomainErrorKinds = {
  /** No such blob, or its data object is missing. */
  BLOB_UNKNOWN: "blob unknown",
  /** The bytes do not hash to the digest they were declared with. */
  DIGEST_MISMATCH: "content does not match its digest",
  /** No such upload session (or not in this repository). */
  UPLOAD_UNKNOWN: "blob upload unknown to registry",
  /** A chunk that does not start where the upload stands (`offset`). Nothing changed. */
  CHUNK_OUT_OF_ORDER: "chunk out of order",
  /** A chunk that ended early or did not match its length; the upload continues from `offset`. */
  CHUNK_INCOMPLETE: "chunk incomplete",
  /** Storing a chunk failed (R2); the upload continues from `offset`. */
  CHUNK_NOT_STORED: "chunk not stored",
  /** A blob written in one request did not arrive whole. Nothing stored. */
  UPLOAD_INCOMPLETE: "upload incomplete",
  /** No such manifest or tag. */
  MANIFEST_UNKNOWN: "manifest unknown",
  /** A signed URL that is incomplete, tampered with or expired. */
  SIGNATURE_INVALID: "signature invalid",
} as const;

export type DomainErrorKind = keyof typeof DomainErrorKinds;

export interface DomainFacts {
  /** Where the upload stands (bytes stored), for the chunk kinds. */
  offset?: number;
  /** Machine-readable detail for the client (the OCI error's `detail`). */
  detail?: Record<string, unknown>;
}

/** The plain form that crosses a Durable Object RPC boundary. */
export interface PlainDomainError extends DomainFacts {
  kind: DomainErrorKind;
  message: string;
}

export class DomainError extends Error {
  readonly kind: DomainErrorKind;
  readonly offset?: number;
  readonly detail?: Record<string, unknown>;

  constructor(kind: DomainErrorKind, message: string = DomainErrorKinds[kind], facts: DomainFacts = {}) {
    super(message);
    this.name = "DomainError";
    this.kind = kind;
    this.offset = facts.offset;
    this.detail = facts.detail;
  }

  toPlain(): PlainDomainError {
    return { kind: this.kind, message: this.message, offset: this.offset, detail: this.detail };
  }

  static fromPlain(p: PlainDomainError): DomainError {
    return new DomainError(p.kind, p.message, { offset: p.offset, detail: p.detail });
  }
}
