// Types of scripts/build-web-demo.mjs (for the TypeScript tests that import it).
export declare const demoRoot: string;
export declare const defaultOutDir: string;
export declare const FASHION_MNIST_DIR: string;
export declare function readIdx(path: string): { dims: number[]; data: Uint8Array };
export interface BuiltDemo {
  readonly outDir: string;
  readonly dataset: { file: string; train: number; test: number; rows: number; cols: number; bytes: number } | null;
  readonly plugins: string[];
  readonly warnings: string[];
  readonly bundleBytes: number | undefined;
}
export declare function buildWebDemo(options?: {
  outDir?: string;
  datasetDir?: string;
  train?: number;
  test?: number;
  minify?: boolean;
  log?: (line: string) => void;
}): Promise<BuiltDemo>;
