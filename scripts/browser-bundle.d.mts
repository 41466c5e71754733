// Types of scripts/browser-bundle.mjs (for the TypeScript tests that import it).
import type { BuildResult, Metafile, Plugin } from 'esbuild';

export declare const repoRoot: string;
export declare const NODE_BUILTINS: ReadonlySet<string>;
export declare const BROWSER_TARGET: string[];
export declare function isNodeBuiltin(specifier: string): boolean;
export declare function nodeImportGuard(options?: { forbiddenPackages?: readonly string[] }): Plugin;
export declare function bundleForBrowser(options: {
  entryPoints: string[] | Record<string, string>;
  outdir?: string;
  write?: boolean;
  minify?: boolean;
  sourcemap?: boolean;
  forbiddenPackages?: readonly string[];
  define?: Record<string, string>;
  logLevel?: 'silent' | 'error' | 'warning' | 'info';
  absWorkingDir?: string;
  plugins?: Plugin[];
}): Promise<BuildResult & { metafile: Metafile }>;
