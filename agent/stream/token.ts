import { readFileSync, statSync } from 'node:fs';

/**
 * The agent's projected service-account token, read from its file when first asked and again
 * whenever the file's modification time changes: the kubelet rotates it (at 80% of its
 * lifetime) by swapping the file, and the next connection must carry the new one. A file that
 * cannot be read is an error for that connection (the stream's backoff retries).
 */
export class TokenFile {
  private token: string | undefined;
  private mtimeMs = -1;

  constructor(readonly path: string) {}

  /** The current token (whitespace trimmed). */
  read(): string {
    const { mtimeMs } = statSync(this.path);
    if (this.token === undefined || mtimeMs !== this.mtimeMs) {
      this.token = readFileSync(this.path, 'utf8').trim();
      this.mtimeMs = mtimeMs;
    }
    return this.token;
  }
}
