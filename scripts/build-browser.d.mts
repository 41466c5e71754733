// Types of scripts/build-browser.mjs (for the TypeScript tests that import it).
import type { BuildResult, Metafile, Plugin } from 'esbuild';

export declare const browserEntry: string;
export declare const browserContainerEntry: string;
export declare function coreFromLibraryModule(): Plugin;
export declare function buildBrowserLibrary(options?: { outDir?: string; minify?: boolean; write?: boolean }): Promise<BuildResult & { metafile: Metafile }>;
