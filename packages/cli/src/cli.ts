/**
 * The nladmm command line: dispatches to the subcommands and turns every failure into one line on stderr
 * (with the stack only under --debug) and an exit code: 0 success, 1 error, 2 usage error, 130/143 stopped by
 * SIGINT/SIGTERM.
 */
import { type CliContext, processContext } from './context.ts';
import { CliError, UsageError, messageOf } from './errors.ts';
import { VERSION } from './version.ts';
import { trainCommand } from './commands/train.ts';
import { compareCommand } from './commands/compare.ts';
import { evalCommand, predictCommand } from './commands/evaluate.ts';
import { plotCommand } from './commands/plot.ts';
import { infoCommand } from './commands/info.ts';
import { theoryCommand } from './commands/theory.ts';
import { suggest } from './args.ts';

export const MAIN_HELP = `nladmm ${VERSION}: train neural networks with the nonlinearly constrained ADMM of Zeng, Lin & Yao

Usage: nladmm <command> [options]

Commands:
  train     train a network (default: the fashion-mnist preset) into a run directory
  compare   ADMM against a gd/sgd/adam baseline from the same W^0 (resumable): chart and table
  eval      loss and accuracy of a saved model on a data set
  predict   write a model's predictions (CSV or .npy)
  plot      charts of a run's metrics (SVG and PNG)
  theory    check the hypotheses (42)-(47) of Theorem 3 for a configuration; --suggest β and λ
  info      backends, activations, presets, data sets, versions

Run 'nladmm <command> --help' for the options of a command.
`;

const COMMANDS: Record<string, (argv: readonly string[], ctx: CliContext) => Promise<number>> = {
  train: trainCommand,
  compare: compareCommand,
  eval: evalCommand,
  predict: predictCommand,
  plot: plotCommand,
  theory: theoryCommand,
  info: infoCommand,
};

/** Runs the CLI with the given arguments; returns the exit code (never calls process.exit). */
export async function runCli(argv: readonly string[], context: Partial<CliContext> = {}): Promise<number> {
  const ctx: CliContext = { ...processContext(), handleSignals: false, ...context };
  const [command, ...rest] = argv;
  const debug = rest.includes('--debug');
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    ctx.stdout(MAIN_HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V') {
    ctx.stdout(`${VERSION}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    const near = suggest(command, Object.keys(COMMANDS));
    ctx.stderr(`nladmm: unknown command '${command}'${near ? ` (did you mean '${near}'?)` : ''}; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    return await run(rest, ctx);
  } catch (err) {
    if (debug && err instanceof Error && err.stack) ctx.stderr(`${err.stack}\n`);
    const message = messageOf(err).replace(/\s*\n\s*/g, ' ');
    const known = err instanceof CliError;
    ctx.stderr(`nladmm ${command}: ${known ? '' : 'error: '}${message}${known || debug ? '' : ' (run with --debug for the stack trace)'}\n`);
    return err instanceof UsageError ? 2 : err instanceof CliError ? err.exitCode : 1;
  }
}
