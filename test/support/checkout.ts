/**
 * The checkout as a user's clone has it: every file but what is made from it (dependencies,
 * build output, generated code, bench results) and git's own directory.
 */
import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(import.meta.url), '../../..');
const NOT_CHECKED_IN: ReadonlySet<string> = new Set(['.git', 'node_modules', 'dist', 'gen', '.bench']);

/** Absolute paths of the checkout's files, depth first. */
export function* checkoutFiles(dir = REPO): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (NOT_CHECKED_IN.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* checkoutFiles(path);
    else if (entry.isFile()) yield path;
  }
}

/**
 * Copies the checkout into `dest` (a fresh clone's content, nothing built) and, unless told
 * not to, links this checkout's node_modules into it, so that npm scripts run there without an
 * install.
 */
export function copyCheckout(dest: string, options: { linkNodeModules?: boolean } = {}): void {
  for (const file of checkoutFiles()) {
    const target = join(dest, relative(REPO, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  if (options.linkNodeModules !== false) symlinkSync(join(REPO, 'node_modules'), join(dest, 'node_modules'));
}
