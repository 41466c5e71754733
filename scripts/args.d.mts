// Types of scripts/args.mjs (for the TypeScript scripts and tests that import it).
export type OptionSpec =
  | { readonly type: 'string'; readonly short?: string; readonly default?: string; readonly choices?: readonly string[] }
  | { readonly type: 'boolean'; readonly short?: string; readonly default?: boolean }
  | { readonly type: 'number' | 'integer'; readonly short?: string; readonly default?: number; readonly min?: number; readonly max?: number };

type ValueOf<S extends OptionSpec> = S extends { type: 'boolean' } ? boolean : S extends { type: 'number' | 'integer' } ? number : string;
export type OptionValues<O extends Record<string, OptionSpec>> = {
  readonly [K in keyof O]: O[K] extends { default: unknown } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export interface CommandLineSpec<O extends Record<string, OptionSpec>> {
  readonly options?: O;
  /** How many positional arguments are allowed (default 0). */
  readonly positionals?: number;
}

export interface ParsedArgs<O extends Record<string, OptionSpec>> {
  readonly values: OptionValues<O>;
  readonly positionals: string[];
  readonly help: boolean;
}

export declare class ArgsError extends Error {}
export declare function parseArgv<const O extends Record<string, OptionSpec>>(argv: readonly string[], spec?: CommandLineSpec<O>): ParsedArgs<O>;
export declare function parseCommandLine<const O extends Record<string, OptionSpec>>(
  spec: CommandLineSpec<O> & { readonly name: string; readonly usage?: string; readonly argv?: readonly string[] },
): ParsedArgs<O>;
