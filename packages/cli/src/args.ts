/**
 * A small strict command-line parser: `--name value`, `--name=value`, boolean `--flag` / `--no-flag`, and
 * positional arguments. Unknown options are errors that suggest the nearest known name.
 */
import { UsageError } from './errors.ts';

export type OptionType = 'string' | 'number' | 'integer' | 'boolean' | 'numbers' | 'integers';

export interface OptionSpec {
  /** Kebab-case name without dashes, e.g. `grad-tol`. */
  readonly name: string;
  readonly type: OptionType;
  readonly description: string;
  /** Shown in the help as the value's placeholder. */
  readonly placeholder?: string;
  readonly choices?: readonly string[];
  /** A help-only note on the default. */
  readonly defaultText?: string;
  /** Heading the option is listed under in the help. */
  readonly group?: string;
  /** Only on the command line, never from a JSON config (e.g. --config itself). */
  readonly cliOnly?: boolean;
  /** A path resolved against the JSON config file's folder when it comes from one. */
  readonly inputPath?: boolean;
}

export type OptionValue = string | number | boolean | number[];
export type ParsedOptions = Record<string, OptionValue>;

export interface ParsedArgs {
  readonly options: ParsedOptions;
  readonly positionals: string[];
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, k) => k);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

export function suggest(name: string, known: readonly string[]): string {
  let best = '';
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : '';
}

/** Converts one raw value (from the command line or a JSON config) to the option's type. */
export function coerce(spec: OptionSpec, raw: unknown, where: string): OptionValue {
  const bad = (expected: string): never => {
    throw new UsageError(`${where}: expected ${expected}, got ${JSON.stringify(raw)}`);
  };
  const number = (value: unknown, integer: boolean): number => {
    const v = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) bad(integer ? 'an integer' : 'a number');
    return v;
  };
  switch (spec.type) {
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') bad('a string');
      const s = String(raw);
      if (spec.choices && !spec.choices.includes(s)) {
        throw new UsageError(`${where}: '${s}' is not one of ${spec.choices.join(', ')}`);
      }
      return s;
    }
    case 'number':
      return number(raw, false);
    case 'integer':
      return number(raw, true);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      return bad('true or false');
    case 'numbers':
    case 'integers': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'number' ? [raw] : typeof raw === 'string' ? raw.split(',') : bad('a comma-separated list of numbers');
      if (items.length === 0) bad('at least one number');
      return items.map((item) => {
        const v = typeof item === 'number' ? item : typeof item === 'string' && item.trim() !== '' ? Number(item) : NaN;
        const integer = spec.type === 'integers';
        if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) {
          throw new UsageError(`${where}: expected ${integer ? 'integers' : 'numbers'} separated by commas, got ${JSON.stringify(item)}${items.length > 1 ? ` in ${JSON.stringify(raw)}` : ''}`);
        }
        return v;
      });
    }
  }
}

/** Parses argv against the option specs. `--help`/`-h` sets the option `help`. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: ParsedOptions = {};
  const positionals: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    if (arg === '--') {
      positionals.push(...argv.slice(k + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      options.help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) throw new UsageError(`unknown option ${arg} for 'nladmm ${command}' (options start with --; see nladmm ${command} --help)`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean' && inline === undefined) {
      name = name.slice(3);
      spec = byName.get(name);
      inline = 'false';
    }
    if (!spec) {
      const near = suggest(name, [...byName.keys()]);
      throw new UsageError(`unknown option --${name} for 'nladmm ${command}'${near ? ` (did you mean --${near}?)` : ''}; see nladmm ${command} --help`);
    }
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (spec.type === 'boolean') raw = 'true';
    else {
      const next = argv[k + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`option --${name} needs a value${spec.placeholder ? ` (${spec.placeholder})` : ''}`);
      raw = next;
      k++;
    }
    if (name in options) throw new UsageError(`option --${name} is given more than once`);
    options[name] = coerce(spec, raw, `--${name}`);
  }
  return { options, positionals };
}

/** Formats the option list of a command's help. */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const lines: string[] = [];
  let group: string | undefined;
  const width = Math.max(...specs.map((s) => optionLabel(s).length)) + 2;
  for (const s of specs) {
    if (s.group !== group) {
      group = s.group;
      if (group) lines.push('', `${group}:`);
    }
    const choices = s.choices ? ` (${s.choices.join('|')})` : '';
    const dflt = s.defaultText ? ` [default: ${s.defaultText}]` : '';
    lines.push(`  ${optionLabel(s).padEnd(width)}${s.description}${choices}${dflt}`);
  }
  return lines.join('\n');
}

function optionLabel(s: OptionSpec): string {
  if (s.type === 'boolean') return `--${s.name}`;
  return `--${s.name} ${s.placeholder ?? (s.type === 'number' || s.type === 'integer' ? 'N' : 'VALUE')}`;
}

/** kebab-case → camelCase (config files may use either). */
export function camelToKebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
