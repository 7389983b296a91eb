/**
 * mkdtemp's random six-character suffix differs between the sides: results are reduced to their
 * shape and the created directory renamed to a fixed name (with node:fs, outside the
 * implementation under test) so the trees stay comparable; error paths get the suffix masked.
 */
import { renameSync } from 'node:fs';
import type { SideCtx } from './harness.js';
import { normalise, type Outcome } from './describe.js';

/** `r` (what mkdtemp resolved to) as its shape; the directory is renamed to 'made-by-mkdtemp'. */
export function settleMkdtemp(c: SideCtx, r: unknown, encoding?: string): unknown[] {
  const path = Buffer.isBuffer(r) ? r.toString() : encoding && encoding !== 'buffer' && typeof r === 'string' ? Buffer.from(r, encoding as BufferEncoding).toString() : String(r);
  renameSync(path, c.p('made-by-mkdtemp'));
  return [typeof r, Buffer.isBuffer(r), normalise(path.slice(0, -6), c.root), /^[A-Za-z0-9]{6}$/.test(path.slice(-6))];
}

/** The outcome with the suffix of mkdtemp's path (in `path` and the message) replaced by XXXXXX. */
export function maskMkdtempSuffix(outcome: Outcome): Outcome {
  const e = (outcome as { error?: Record<string, unknown> }).error;
  if (!e || e.syscall !== 'mkdtemp' || typeof e.path !== 'string') return outcome;
  const path = e.path;
  const masked = path.slice(0, -6) + 'XXXXXX';
  return { ...outcome, error: { ...e, path: masked, message: String(e.message).split(path).join(masked) } } as Outcome;
}
