// Registers tsx's module hooks in a scan worker started from TypeScript sources
// (second-thread.ts): on Node 20, `--import tsx` registers them on the main thread only.
import { register } from 'tsx/esm/api';

register();
