/**
 * `nladmm train`: parses the options (a fresh run's from the defaults, a preset, a --config file and the flags; a
 * resumed run's from its run directory) and runs them (run/runLoop.ts): every input is validated before the disk is
 * touched, the run directory is created atomically with its config and an iteration-0 checkpoint, checkpoints are
 * written atomically every m iterations and on exit (SIGINT / SIGTERM included), and the model and plots at the end.
 * `--resume RUN_DIR` continues a run bit for bit from its checkpoint.
 */
import { resolve } from 'node:path';
import { formatOptions, parseArgs } from '../args.ts';
import { type CliContext, noticePrinter } from '../context.ts';
import { UsageError } from '../errors.ts';
import { defaultRunDir, precheckRunDirectory } from '../io/runDirectory.ts';
import { executeRun } from '../run/runLoop.ts';
import { absolutePluginFlags, absolutize, resumeSettings } from '../run/runSettings.ts';
import { TRAIN_OPTIONS, type TrainSettings, checkAdmmOnlyFlags, mergeOptions, readConfigFile, toSettings } from '../trainOptions.ts';

export const TRAIN_HELP = `Usage: nladmm train [options]

Trains a fully connected network with Algorithm 1 (nonlinearly constrained ADMM) and writes a run directory:
config.json, metrics.jsonl, checkpoint.safetensors, model.safetensors and plots/.
Options come from the defaults < --preset < --config FILE.json < flags. With no --dataset the preset is
fashion-mnist.

Examples:
  nladmm train                                   # the fashion-mnist preset
  nladmm train --preset paper-square --out runs/square
  nladmm train --dataset iris.csv --label-column species_id --test-split 0.2 --layers 4,16,16,3 --scale standard
  nladmm train --resume runs/square --iterations 100
${formatOptions(TRAIN_OPTIONS)}
`;

export async function trainCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { options: flags, positionals } = parseArgs(argv, TRAIN_OPTIONS, 'train');
  if (flags.help) {
    ctx.stdout(TRAIN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (options start with --; see nladmm train --help)`);
  const quiet = flags.quiet === true;
  const resumeDir = typeof flags.resume === 'string' ? resolve(ctx.cwd, flags.resume) : undefined;
  let settings: TrainSettings;
  if (resumeDir) settings = await resumeSettings(resumeDir, absolutePluginFlags(flags, ctx.cwd));
  else {
    const fromFile = typeof flags.config === 'string' ? await readConfigFile(resolve(ctx.cwd, flags.config)) : {};
    settings = absolutize(toSettings(mergeOptions(fromFile, flags)), ctx.cwd);
    checkAdmmOnlyFlags(flags, settings);
  }

  const runDir = resumeDir ?? settings.out ?? defaultRunDir(settings, ctx.cwd);
  // Fail fast on an unusable run directory (nothing is created until every input has been checked).
  if (!resumeDir) await precheckRunDirectory(runDir);
  const outcome = await executeRun({ settings, runDir, resume: resumeDir !== undefined, command: ['nladmm', 'train', ...argv].join(' '), quiet, notice: noticePrinter(ctx, 'train', quiet) }, ctx);
  return outcome.code;
}
