/**
 * Errors the CLI reports as one line on stderr. A {@link UsageError} is a mistake in the command line or the
 * configuration (exit code 2); a {@link CliError} is any other expected failure, such as a bad input file
 * (exit code 1). Anything else is unexpected and still reported as one line unless `--debug` is given.
 */
export class CliError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  override readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A bad input file: the message starts with the file it concerns. */
export class DataError extends CliError {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'DataError';
  }
}

/** The message of anything thrown, without a stack. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
