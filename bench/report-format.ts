/**
 * Cell formatting shared by the report's tables (report.ts, report-read.ts): a rate with the
 * min–max of its runs, a ratio of two cells, SQEs per io_uring_enter.
 */
import { isSkip } from './drivers.js';
import { fmtOps, type CellResult } from './suite.js';

export type Row = string[];
export interface Table {
  title: string;
  head: Row;
  rows: Row[];
  notes: string[];
}

export const ok = (r: CellResult | undefined) => (r && !isSkip(r) ? r : undefined);

export const rate = (r: CellResult | undefined) => {
  if (!r) return '—';
  if (isSkip(r)) return `skipped`;
  const spread = r.runs && r.runs.length > 1 ? ` (${fmtOps(Math.min(...r.runs))}–${fmtOps(Math.max(...r.runs))})` : '';
  return `${fmtOps(r.opsPerSec)}${spread}`;
};

/** a ÷ b as "1.23×", or as "45 %" with `pct`; "—" when either is missing or skipped. */
export const ratio = (a: CellResult | undefined, b: CellResult | undefined, pct = false) => {
  const x = ok(a);
  const y = ok(b);
  if (!x || !y || y.opsPerSec === 0) return '—';
  const q = x.opsPerSec / y.opsPerSec;
  return pct ? `${(q * 100).toFixed(0)} %` : `${q.toFixed(2)}×`;
};

export const ios = (r: CellResult | undefined) => {
  const x = ok(r);
  return x?.iosPerCall !== undefined && x.enterCalls ? x.iosPerCall.toFixed(1) : '—';
};
