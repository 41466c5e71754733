/** `nladmm plot`: charts of a run's metrics.jsonl as SVG and PNG. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type OptionSpec, formatOptions, parseArgs } from '../args.ts';
import type { CliContext } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { checkOutputFile } from '../io/files.ts';
import { readMetrics } from '../io/metrics.ts';
import { runCharts, writePlots } from '../plot/charts.ts';

export const PLOT_OPTIONS: readonly OptionSpec[] = [
  { name: 'out', type: 'string', placeholder: 'DIR', description: 'where to write the charts (a chart file there is replaced only with --force)', defaultText: 'RUN_DIR/plots, whose charts are refreshed' },
  { name: 'width', type: 'integer', placeholder: 'PX', description: 'image width', defaultText: '960' },
  { name: 'height', type: 'integer', placeholder: 'PX', description: 'image height', defaultText: '600' },
  { name: 'format', type: 'string', placeholder: 'LIST', description: 'svg, png or svg,png', defaultText: 'svg,png' },
  { name: 'force', type: 'boolean', description: 'replace chart files that exist in --out DIR' },
  { name: 'debug', type: 'boolean', description: 'print stack traces of errors' },
];

export const PLOT_HELP = `Usage: nladmm plot RUN_DIR|metrics.jsonl [options]

Draws the charts of a run: lagrangian (𝓛(Q^k) and the objective), gradient (‖∇𝓛(Q^k)‖ and the root of its
running mean (1/K)Σ‖∇𝓛‖², log-log, with an O(1/√K) guide), rate (the running mean (1/K)Σ‖∇𝓛‖² and the
running minimum min_{k≤K}‖∇𝓛‖², log-log, with their fitted tail slopes and an O(1/K) guide: Theorem 1(c)
predicts a running-mean slope ≤ −1), residuals (per layer), loss (train/test) and
accuracy (train/test, for classes). Each as .svg and .png. The run's plots/ folder is refreshed; in a folder
named by --out, chart files that exist are replaced only with --force.

Examples:
  nladmm plot runs/fashion
  nladmm plot runs/fashion/metrics.jsonl --out /tmp/charts --width 1280 --height 800 --format png
${formatOptions(PLOT_OPTIONS)}
`;

export async function plotCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { options, positionals } = parseArgs(argv, PLOT_OPTIONS, 'plot');
  if (options.help) {
    ctx.stdout(PLOT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give one RUN_DIR or metrics.jsonl (see nladmm plot --help)');
  let path = resolve(ctx.cwd, positionals[0]);
  if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'metrics.jsonl');
  const width = (options.width as number | undefined) ?? 960;
  const height = (options.height as number | undefined) ?? 600;
  if (width < 320 || height < 240 || width > 8000 || height > 8000) throw new UsageError(`--width/--height must be within 320×240 … 8000×8000, got ${width}×${height}`);
  const formats = String(options.format ?? 'svg,png').split(',').map((f) => f.trim().toLowerCase());
  for (const f of formats) if (f !== 'svg' && f !== 'png') throw new UsageError(`--format: '${f}' is not svg or png`);
  const records = await readMetrics(path);
  if (records.length === 0) throw new CliError(`${path}: no metrics recorded yet`);
  const out = options.out ? resolve(ctx.cwd, options.out as string) : join(dirname(path), 'plots');
  if (existsSync(out) && !statSync(out).isDirectory()) throw new CliError(`--out ${out} is not a directory`);
  // A folder named by --out may hold other files: its existing charts are replaced only with --force (the run's own
  // plots/ folder is refreshed), and never the metrics file read.
  const force = options.force === true || !options.out;
  for (const { name } of runCharts(records, width, height)) {
    for (const f of formats) await checkOutputFile(join(out, `${name}.${f}`), [{ path, what: 'metrics file' }], force, '--out');
  }
  let written: string[];
  try {
    written = await writePlots(records, out, { width, height, formats: formats as ('svg' | 'png')[] });
  } catch (err) {
    throw new CliError(`cannot write the charts to ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  ctx.stdout(`${written.join('\n')}\n`);
  return 0;
}
