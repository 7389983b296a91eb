/**
 * Slot: the zero-copy crossover trial of issue 11 ("zero-copy against copying send throughput by
 * payload size, the crossover documented"). The suite reserves the cell `net:zc` (cells.ts) and the
 * report prints its row (report-net.ts); runZc() is what the cell runs.
 *
 * To fill it in: measure send_zc (registered buffers) against send at payload sizes (e.g. 1 KiB to
 * 1 MiB) over loopback, return the crossover size in the result (e.g. `crossoverBytes`) and the
 * per-size figures in `note`, and let report-net.ts print them.
 */
import type { Outcome } from '../drivers.js';

export interface ZcArgs {
  seconds: number;
  warmup: number;
}

export async function runZc(_a: ZcArgs): Promise<Outcome> {
  return { skipped: "zero-copy send (issue 11) is not built yet: bench/net/zc.ts is the slot for the send_zc vs send crossover" };
}
