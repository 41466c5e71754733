/** `nladmm info`: versions, backends, activations, presets and data sets found. */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release } from 'node:os';
import { STEP_RULES } from '@nladmm/core';
import { createDefaultRegistry } from '@nladmm/activations';
import { builtinLosses } from '@nladmm/losses';
import { type OptionSpec, formatOptions, parseArgs } from '../args.ts';
import { describeBackends } from '../backends.ts';
import type { CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { PRESETS } from '../trainOptions.ts';
import { VERSION } from '../version.ts';
import { BUILTIN_IDX, SYNTHETIC } from '../data/datasets.ts';

export const INFO_OPTIONS: readonly OptionSpec[] = [
  { name: 'json', type: 'boolean', description: 'print the information as JSON' },
  { name: 'debug', type: 'boolean', description: 'print stack traces of errors' },
];

export const INFO_HELP = `Usage: nladmm info [--json]

Prints the versions, the compute backends found (blas: its library, build and threads), the registered
activations (with the bounds of Assumption 1), the losses, the step rules, the presets and the data sets available.
${formatOptions(INFO_OPTIONS)}
`;

/** Versions of the workspace packages the CLI runs on (read from their package.json files). */
function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['core', 'cpu-backend', 'blas-backend', 'webgpu-backend', 'activations', 'losses', 'mpi']) {
    try {
      const json = JSON.parse(readFileSync(new URL(`../../../${name}/package.json`, import.meta.url), 'utf8')) as { version?: string };
      out[`@nladmm/${name}`] = json.version ?? 'unknown';
    } catch {
      out[`@nladmm/${name}`] = 'unknown';
    }
  }
  return out;
}

export async function infoCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { options, positionals } = parseArgs(argv, INFO_OPTIONS, 'info');
  if (options.help) {
    ctx.stdout(INFO_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const registry = createDefaultRegistry();
  const activations = registry.names().map((name) => {
    const a = registry.get(name);
    return { name, bounds: a.bounds, satisfiesAssumption1: a.satisfiesAssumption1 };
  });
  const datasets = [
    ...BUILTIN_IDX.map((name) => ({ name, available: existsSync(`/usr/share/datasets/${name}/train-images-idx3-ubyte.gz`) || existsSync(`/usr/share/datasets/${name}/train-images-idx3-ubyte`), where: `/usr/share/datasets/${name}` })),
    ...SYNTHETIC.map((name) => ({ name, available: true, where: 'synthetic' })),
  ];
  const info = {
    nladmm: VERSION,
    packages: packageVersions(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: `${cpus()[0]?.model ?? 'unknown'} (${availableParallelism()} threads)`,
    backends: await describeBackends(),
    activations,
    losses: builtinLosses.map((l) => ({ name: l.name, smoothness: l.smoothness, paper: l.quadratic })),
    stepRules: Object.keys(STEP_RULES),
    presets: Object.keys(PRESETS),
    datasets,
  };
  if (options.json) {
    ctx.stdout(`${JSON.stringify(info, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `nladmm ${info.nladmm} (node ${info.node}, ${info.platform})`,
    `packages: ${Object.entries(info.packages).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `cpu: ${info.cpu}`,
    'backends:',
    ...info.backends.flatMap((b) => [
      `  ${b.name.padEnd(8)} ${b.available ? 'available' : 'unavailable'}  ${b.detail}`,
      ...(b.library?.config ? [`  ${''.padEnd(8)} config: ${b.library.config}`] : []),
    ]),
    'activations (hidden layers):',
    ...activations.map((a) => `  ${a.name.padEnd(8)} L0 = ${a.bounds.L0.toPrecision(4)}, L1 = ${a.bounds.L1.toPrecision(4)}, L2 = ${a.bounds.L2.toPrecision(4)}${a.satisfiesAssumption1 ? '  (Assumption 1)' : ''}`),
    '  plus any plugin file: --activation ./my-activation.mjs',
    `losses: ${info.losses.map((l) => `${l.name}${l.paper ? ' (the paper\'s, default)' : ''}`).join(', ')}; plus any plugin file: --loss ./my-loss.mjs`,
    `step rules: ${info.stepRules.join(', ')}`,
    `presets: ${info.presets.join(', ')}`,
    'data sets:',
    ...datasets.map((d) => `  ${d.name.padEnd(14)} ${d.where === 'synthetic' ? 'synthetic' : `${d.available ? 'found in' : 'not found in'} ${d.where}`}`),
  ];
  ctx.stdout(`${lines.join('\n')}\n`);
  return 0;
}
