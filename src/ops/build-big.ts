/**
 * Encoders for the parameter kinds of big-entry requests: the uring_cmd command area (op.uringCmdRaw,
 * src/ops/uring-cmd-raw.ts) and the zcrx interface queue of RECV_ZC. build.ts dispatches these
 * kinds here; each check throws ringflow's TypeError/RangeError naming the argument.
 */
import type { ParamDesc } from './desc.js';
import type { Sqe } from './sqe.js';
import { bufferSpan, setField } from './build.js';
import { RECVSEND } from './net-abi.js';
import { describeValue as describe } from '../errors.js';

/** Bytes of the command area: 16 in a 64-byte SQE (bytes 48..63), 80 in a 128-byte one (48..127). */
export const CMD_AREA_MAX = 80;
export const CMD_AREA_SQE64 = 16;

export function applyBigParam(s: Sqe, p: ParamDesc, v: unknown, w: () => string): void {
  switch (p.kind) {
    case 'cmdArea': {
      const span = bufferSpan(w, v);
      if (span.length > CMD_AREA_MAX)
        throw new RangeError(`${w()} must be at most ${CMD_AREA_MAX} bytes (the command area of a 128-byte SQE; ${CMD_AREA_SQE64} in a 64-byte one), got ${span.length} bytes`);
      // copied now: the kernel reads the SQE itself, not this memory
      const words = new Uint32Array(CMD_AREA_MAX / 4);
      new Uint8Array(words.buffer).set(new Uint8Array(span.buffer, span.offset, span.length));
      s.cmd = words;
      s.cmdBytes = span.length;
      return;
    }
    case 'zcrxIfq': {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be an integer (the zcrx_id IORING_REGISTER_ZCRX_IFQ returned), got ${describe(v)}`);
      if (v < 0 || v > 0xffffffff) throw new RangeError(`${w()} must be in [0, 4294967295], got ${describe(v)}`);
      setField(s, p.field, v);
      s.ioprio |= RECVSEND.RECV_MULTISHOT;
      s.multishot = true;
      return;
    }
    default:
      throw new TypeError(`${w()}: no encoder for parameter kind ${p.kind}`);
  }
}
