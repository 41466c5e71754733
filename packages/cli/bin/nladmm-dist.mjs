#!/usr/bin/env node
// The nladmm command of the published package (publishConfig.bin): runs the CLI compiled to dist/. tsx's loader is
// registered only so that TypeScript plugin files (--activation ./x.ts, --loss ./y.ts, and those recorded in a run
// directory) can be imported; the CLI itself is plain JavaScript. In the repository, bin/nladmm.mjs runs src/ instead.
import { register } from 'tsx/esm/api';

register();
await import('../dist/main.js');
