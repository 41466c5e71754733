// The command lines of the scripts (build-web-demo.mjs, serve-static.mjs, the bench scripts through benchArgs.ts):
// node:util parseArgs (strict: an unknown option or a missing value is an error), plus numeric option types.
//
//   const { values, positionals } = parseCommandLine({
//     name: 'serve-static', usage: '<folder> [--port N]', positionals: 1,
//     options: { port: { type: 'integer', min: 0, max: 65535, default: 0 }, 'fallback-port': { type: 'boolean' } },
//   });
//
// Option types: 'string' (optionally one of `choices`), 'boolean' (a flag), 'number' (finite) and 'integer' (both
// with optional min/max).
// `--help`/`-h` is always accepted: it prints the usage and exits 0. Errors print `NAME: message` and the usage to
// stderr and exit 2 (parseCommandLine), or throw an ArgsError (parseArgv, for callers that report errors themselves).
import { parseArgs } from 'node:util';

export class ArgsError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ArgsError';
  }
}

function convert(name, spec, raw) {
  if (spec.type === 'boolean') return raw;
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) throw new ArgsError(`--${name} takes ${spec.choices.join(' or ')}, got '${raw}'`);
    return raw;
  }
  const value = raw.trim() === '' ? NaN : Number(raw);
  const ok = spec.type === 'integer' ? Number.isInteger(value) : Number.isFinite(value);
  const range = spec.min !== undefined && spec.max !== undefined ? ` in ${spec.min}…${spec.max}` : spec.min !== undefined ? ` ≥ ${spec.min}` : spec.max !== undefined ? ` ≤ ${spec.max}` : '';
  if (!ok || (spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
    throw new ArgsError(`--${name} must be ${spec.type === 'integer' ? 'an integer' : 'a number'}${range}, got '${raw}'`);
  }
  return value;
}

/**
 * Parses `argv` by `options` (see above); `positionals`: how many positional arguments are allowed (default 0).
 * Returns `{ values, positionals, help }`; absent options without a default are undefined. Throws ArgsError.
 */
export function parseArgv(argv, { options = {}, positionals: maxPositionals = 0 } = {}) {
  const config = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(options)) {
    config[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string', ...(spec.short ? { short: spec.short } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: maxPositionals > 0 });
  } catch (err) {
    throw new ArgsError(err.message);
  }
  if (parsed.positionals.length > maxPositionals) throw new ArgsError(`unexpected argument ${parsed.positionals[maxPositionals]}`);
  const values = {};
  for (const [name, spec] of Object.entries(options)) {
    const raw = parsed.values[name];
    values[name] = raw === undefined ? spec.default : convert(name, spec, raw);
  }
  return { values, positionals: parsed.positionals, help: parsed.values.help === true };
}

/** {@link parseArgv} for a script's main: `--help` prints the usage and exits 0, an error exits 2 after saying why. */
export function parseCommandLine({ name, usage = '', argv = process.argv.slice(2), ...spec }) {
  const line = `usage: ${name} ${usage}`.trimEnd();
  let parsed;
  try {
    parsed = parseArgv(argv, spec);
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    console.error(`${name}: ${err.message}\n${line}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(line);
    process.exit(0);
  }
  return parsed;
}
