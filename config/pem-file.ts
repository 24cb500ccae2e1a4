import { readFileSync } from 'node:fs';
import type { Setting } from './setting.js';
import { UsageError } from './usage-error.js';

/** A PEM file a setting names (--tls-cert, ...), read at start-up: one that cannot be read is a usage error naming the flag. */
export function readPemFile(path: string, setting: Pick<Setting, 'flag'>): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`--${setting.flag} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
