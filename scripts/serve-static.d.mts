// Types of scripts/serve-static.mjs (for the TypeScript tests that import it).
export declare const MIME_TYPES: Readonly<Record<string, string>>;
export declare function contentType(path: string): string;
export declare function resolveRequestPath(root: string, urlPath: string): string | undefined;
export interface StaticServer {
  readonly url: string;
  readonly port: number;
  readonly root: string;
  close(): Promise<void>;
}
export declare function startStaticServer(options: { root: string; port?: number; host?: string; log?: (line: string) => void }): Promise<StaticServer>;
