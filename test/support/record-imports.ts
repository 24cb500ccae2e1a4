/**
 * Preload (`node --import tsx --import ./test/support/record-imports.ts child.ts`): appends every
 * module URL the process resolves to the file named by KNS_RECORD_IMPORTS, one per line, so a
 * test can tell which libraries a command loaded.
 */
import { register } from 'node:module';

const file = process.env.KNS_RECORD_IMPORTS;
if (!file) throw new Error('record-imports: set KNS_RECORD_IMPORTS to the file to append to');
register(new URL('./record-imports-hooks.ts', import.meta.url), { data: { file } });
