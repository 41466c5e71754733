/**
 * `nladmm compare`: parses the options of a comparison of ADMM (Algorithm 1) against a backpropagation baseline
 * (gd, sgd or adam) and runs it (run/comparison.ts: both methods through the run loop of `nladmm train`, from the
 * same initial weights W^0, then the report); `--resume DIR` continues an interrupted comparison.
 */
import { resolve } from 'node:path';
import { type OptionSpec, formatOptions, parseArgs } from '../args.ts';
import { type CliContext, noticePrinter } from '../context.ts';
import { UsageError } from '../errors.ts';
import { resumeComparison, runComparison } from '../run/comparison.ts';
import { absolutePluginFlags, absolutize, storedSettings } from '../run/runSettings.ts';
import { RESUMABLE, TRAIN_OPTIONS, mergeOptions, readConfigFile, toSettings } from '../trainOptions.ts';

const NOT_COMPARE = new Set(['resume', 'optimizer', 'theory-parameters', 'out', 'grad-tol']);
/** What a resume may change: the stopping and output options (compare takes no --grad-tol). */
const COMPARE_RESUMABLE = new Set([...RESUMABLE].filter((k) => k !== 'grad-tol'));
/** Stopping options that, given to a resume, continue the runs that had finished (both get the new budget). */
const EXTENDING = ['iterations', 'time-limit'];

export const COMPARE_OPTIONS: readonly OptionSpec[] = [
  { name: 'out', type: 'string', group: 'Run', placeholder: 'DIR', description: 'output folder (must not exist or be empty)' },
  { name: 'resume', type: 'string', group: 'Run', placeholder: 'DIR', description: 'continue the comparison in DIR from its runs\' last checkpoints (only stopping and output options and --threads may change)' },
  { name: 'baseline', type: 'string', group: 'Run', placeholder: 'NAME', choices: ['gd', 'sgd', 'adam'], description: 'the baseline optimiser', defaultText: 'gd' },
  ...TRAIN_OPTIONS.filter((s) => !NOT_COMPARE.has(s.name)),
];

export const COMPARE_HELP = `Usage: nladmm compare --out DIR [options]
       nladmm compare --resume DIR [--iterations K] [--time-limit S] …

Runs Algorithm 1 (ADMM) and a backpropagation baseline (--baseline gd|sgd|adam, with --learning-rate, --momentum,
--batch-size) on the same data, network and initial weights W^0, each for --iterations (or --time-limit
seconds each), as two training runs in DIR/admm and DIR/<baseline> (run directories as nladmm train writes them,
checkpointed every --checkpoint-every iterations and on SIGINT/SIGTERM; --resume DIR continues both). Then writes
into DIR: compare.svg and compare.png (training loss and test accuracy against iterations and wall time),
compare.md and compare.json (final loss, accuracy, time per iteration; the check that both started from the same
W^0), initial.safetensors (W^0) and the initial weights each trainer reported (initial-admm.safetensors,
initial-<baseline>.safetensors).

Example:
  nladmm compare --dataset teacher --layers 3,16,2 --iterations 50 --baseline sgd --batch-size 32 --out cmp
${formatOptions(COMPARE_OPTIONS)}
`;

export async function compareCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { options: flags, positionals } = parseArgs(argv, COMPARE_OPTIONS, 'compare');
  if (flags.help) {
    ctx.stdout(COMPARE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see nladmm compare --help)`);
  const command = ['nladmm', 'compare', ...argv].join(' ');
  const quiet = flags.quiet === true;
  const notice = noticePrinter(ctx, 'compare', quiet);
  if (typeof flags.resume === 'string') {
    if (flags.out !== undefined) throw new UsageError('--resume DIR continues the comparison in DIR: give no --out');
    const dir = resolve(ctx.cwd, flags.resume);
    const settings = await storedSettings(dir, absolutePluginFlags(flags, ctx.cwd), 'comparison', COMPARE_RESUMABLE);
    const changed = Object.keys(flags).some((k) => !['resume', 'quiet', 'debug', 'activation', 'loss'].includes(k));
    const extend = EXTENDING.some((k) => flags[k] !== undefined);
    return resumeComparison(dir, settings, ctx, { command, quiet, notice, changed, extend });
  }
  if (typeof flags.out !== 'string') throw new UsageError('--out DIR is required (or --resume DIR to continue a comparison)');
  const dir = resolve(ctx.cwd, flags.out);
  const { baseline = 'gd', out: _o, ...trainFlags } = flags;
  const fromFile = typeof flags.config === 'string' ? await readConfigFile(resolve(ctx.cwd, flags.config)) : {};
  const settings = absolutize(toSettings(mergeOptions(fromFile, { ...trainFlags, optimizer: baseline })), ctx.cwd);
  return runComparison(dir, settings, ctx, { command, quiet, notice });
}
