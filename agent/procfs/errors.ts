/** A line of a /proc table that does not have the shape the kernel prints. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    /** Which table: a path, or a table name such as `tcp6` for in-memory input. */
    readonly file: string,
    /** 1-based physical line number within the file (the header is line 1). */
    readonly lineNumber: number,
    /** The offending line, without its newline. */
    readonly text: string,
    readonly reason: string,
  ) {
    super(`${file}:${lineNumber}: ${reason}: ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}`);
  }
}

/** A /proc read refused for lack of privilege (EACCES, EPERM): counted and reported, not fatal. */
export class AccessDeniedError extends Error {
  override readonly name = 'AccessDeniedError';
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`${code}: ${path}`);
  }
}

/** Any other failure of the host file system seam: the agent cannot read /proc as it must. */
export class HostFsError extends Error {
  override readonly name = 'HostFsError';
  constructor(
    readonly path: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${path}`, options);
  }
}
