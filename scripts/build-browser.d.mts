// Types of scripts/build-browser.mjs (for the TypeScript tests that import it).
import type { BuildResult, Metafile } from 'esbuild';

export declare const browserEntry: string;
export declare function buildBrowserLibrary(options?: { outDir?: string; minify?: boolean; write?: boolean }): Promise<BuildResult & { metafile: Metafile }>;
