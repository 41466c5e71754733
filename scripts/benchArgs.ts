/** The command-line arguments of the benchmark scripts: `--name value` options and `--name` flags. */

/** The value after `--name`, or undefined when the option is not given. */
export function option(name: string): string | undefined {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 ? process.argv[k + 1] : undefined;
}

/** Whether `--name` is given. */
export const flag = (name: string): boolean => process.argv.includes(`--${name}`);
