/**
 * metrics.jsonl, one JSON record per evaluated iteration: the writer (a run appends each row as its trainer
 * reports it), the reader (`nladmm plot`, the plots of a run, compare's report) and the trimming of a resume (the
 * rows logged after the checkpoint are dropped: their iterations will be redone).
 */
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { DataError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { readInputFile } from './files.ts';

/** One line of metrics.jsonl (NaN values are stored as null). */
export interface MetricsRecord {
  readonly iteration: number;
  readonly augmentedLagrangian: number | null;
  readonly objective?: number | null;
  readonly residuals?: (number | null)[];
  readonly gradNorm: number | null;
  readonly runningMeanGradSq?: number | null;
  readonly trainLoss?: number | null;
  readonly trainAccuracy?: number | null;
  readonly testLoss?: number | null;
  readonly testAccuracy?: number | null;
}

/**
 * Parses metrics.jsonl. A last line cut off by a crash is ignored; any other unparsable line is an error.
 */
export function parseMetrics(text: string, path: string): MetricsRecord[] {
  const lines = text.split('\n');
  const out: MetricsRecord[] = [];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k].trim();
    if (line === '') continue;
    try {
      const record = JSON.parse(line) as MetricsRecord;
      if (typeof record.iteration !== 'number') throw new Error('no iteration');
      out.push(record);
    } catch (err) {
      if (k >= lines.length - 2 && !text.endsWith('\n')) break; // an unfinished last line
      throw new DataError(path, `line ${k + 1} is not a metrics record (${(err as Error).message})`);
    }
  }
  return out;
}

/** Reads a metrics.jsonl given as an input (a missing or unreadable file is a DataError naming it). */
export async function readMetrics(path: string): Promise<MetricsRecord[]> {
  return parseMetrics((await readInputFile(path)).toString('utf8'), path);
}

/** Reads the metrics.jsonl of a run this process trains (a plain read: its errors as the file system gives them). */
export async function readRunMetrics(path: string): Promise<MetricsRecord[]> {
  return parseMetrics(await readFile(path, 'utf8'), path);
}

/** The line of metrics.jsonl that logs one row. */
export function metricsLine(row: object): string {
  return `${JSON.stringify(row)}\n`;
}

/** Appends one row to metrics.jsonl. */
export async function appendMetrics(path: string, row: object): Promise<void> {
  await appendFile(path, metricsLine(row));
}

/**
 * Keeps the rows of iterations ≤ k (a resume from the checkpoint of iteration k redoes the later ones), rewriting
 * the file atomically (created empty when missing). Returns the last iteration still logged (−1 for none).
 */
export async function keepMetricsUpTo(path: string, k: number): Promise<number> {
  const kept = existsSync(path) ? (await readRunMetrics(path)).filter((r) => r.iteration <= k) : [];
  await writeFileAtomic(path, kept.map((r) => metricsLine(r)).join(''));
  return kept.length > 0 ? kept[kept.length - 1].iteration : -1;
}
