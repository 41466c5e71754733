// Types of scripts/pack-packages.mjs (for the TypeScript tests that import it).
export interface PublishablePackage {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the package's folder. */
  readonly dir: string;
}
export interface PackedPackage extends PublishablePackage {
  /** Absolute path of the tarball. */
  readonly tarball: string;
}
export declare const repoRoot: string;
export declare function publishablePackages(): PublishablePackage[];
export declare function buildPackages(options?: { echo?: boolean }): Promise<void>;
export declare function tarballName(name: string, version: string): string;
export declare function packPackages(options?: { outDir?: string; build?: boolean; echo?: boolean }): Promise<PackedPackage[]>;
