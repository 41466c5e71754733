/** The command lines of the benchmark scripts, parsed by scripts/args.mjs (node:util parseArgs) like the others. */
import { type CommandLineSpec, type OptionSpec, type ParsedArgs, parseCommandLine } from './args.mjs';

/**
 * Parses the script's command line by its declared options: an unknown option or a malformed number stops the
 * script (exit 2, with the usage), `--help` prints the usage.
 */
export function benchArgs<const O extends Record<string, OptionSpec>>(name: string, usage: string, spec: CommandLineSpec<O>): ParsedArgs<O> {
  return parseCommandLine({ name, usage, ...spec });
}
