import { DataError } from '../errors.ts';
import { readInputFile } from '../io/files.ts';

/** A numeric table read from a CSV file: `rows` × `cols` values, row-major, one record per row. */
export interface CsvTable {
  readonly header: readonly string[] | null;
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
  /** The 1-based line number of each record in the file (for messages). */
  readonly lines: readonly number[];
}

export interface CsvOptions {
  readonly delimiter?: string;
  /** `auto`: the first line is a header when none of its cells is a number. */
  readonly header?: 'auto' | 'yes' | 'no';
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL: Readonly<Record<string, number>> = {
  nan: NaN, '+nan': NaN, '-nan': NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity,
};

/** The numeric value of a cell, or undefined when it is not a number (NaN and Inf spellings are numbers). */
export function parseNumber(cell: string): number | undefined {
  const s = cell.trim();
  if (NUMBER.test(s)) return Number(s);
  const special = SPECIAL[s.toLowerCase()];
  return special;
}

/** Splits one CSV line into cells, honouring double quotes ("" inside quotes is a quote). */
function splitLine(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let k = 0; k < line.length; k++) {
    const ch = line[k];
    if (quoted) {
      if (ch === '"' && line[k + 1] === '"') {
        cell += '"';
        k++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (line.startsWith(delimiter, k)) {
      cells.push(cell);
      cell = '';
      k += delimiter.length - 1;
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/**
 * Parses a numeric CSV table. Blank lines are skipped; every record must have as many cells as the first; a
 * cell that is not a number is an error naming its line and column (and the column's header name).
 */
export function parseCsv(text: string, path: string, options: CsvOptions = {}): CsvTable {
  const delimiter = options.delimiter ?? ',';
  const lines = text.split(/\r?\n/);
  let header: string[] | null = null;
  let cols = -1;
  const values: number[] = [];
  const recordLines: number[] = [];
  let first = true;
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l];
    if (line.trim() === '') continue;
    const cells = splitLine(line, delimiter);
    if (first) {
      first = false;
      cols = cells.length;
      const mode = options.header ?? 'auto';
      if (mode === 'yes' || (mode === 'auto' && cells.every((c) => parseNumber(c) === undefined))) {
        header = cells.map((c) => c.trim());
        continue;
      }
    }
    if (cells.length !== cols) {
      throw new DataError(path, `line ${l + 1} has ${cells.length} cells but the ${header ? 'header' : 'first line'} has ${cols}`);
    }
    for (let c = 0; c < cells.length; c++) {
      const v = parseNumber(cells[c]);
      if (v === undefined) {
        const name = header ? ` ('${header[c]}')` : '';
        const shown = cells[c].trim() === '' ? 'an empty cell' : `'${cells[c].trim().slice(0, 40)}'`;
        throw new DataError(path, `line ${l + 1}, column ${c + 1}${name}: ${shown} is not a number`);
      }
      if (!Number.isFinite(v)) {
        const name = header ? ` ('${header[c]}')` : '';
        throw new DataError(path, `line ${l + 1}, column ${c + 1}${name}: ${v} in the data (every value must be finite)`);
      }
      values.push(v);
    }
    recordLines.push(l + 1);
  }
  if (recordLines.length === 0) throw new DataError(path, 'no data rows');
  return { header, rows: recordLines.length, cols, data: Float64Array.from(values), lines: recordLines };
}

export async function readCsv(path: string, options: CsvOptions = {}): Promise<CsvTable> {
  return parseCsv((await readInputFile(path)).toString('utf8'), path, options);
}
