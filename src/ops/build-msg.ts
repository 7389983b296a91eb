/**
 * The parameter kinds of IORING_OP_MSG_RING (dispatched from build.ts):
 *
 * - ringTarget: the ring that gets the message: a RingHandle (ring.handle(), also as it arrives
 *   from postMessage), a Ring (its handle), a FixedFile (a slot of the sending ring's file table
 *   that holds a ring: IOSQE_FIXED_FILE) or a raw ring fd (a number: no check; the kernel says
 *   EBADF / EBADFD). Handles are checked before anything is built (src/ring/ring-handle.ts), and
 *   again at every submission of the Sqe (its submitCheck): a reused Sqe whose target closed, or
 *   whose fd number went to another ring, is refused, never delivered to the fd's new owner.
 * - ringMessage: what the target gets, as one object:
 *     { data, value?, flags? }   IORING_MSG_DATA: a CQE with `data` (31 bits) in its user_data,
 *                                res = `value` (i32), and with `flags` (IORING_MSG_RING_FLAGS_PASS,
 *                                6.3) those CQE flags
 *     { file, slot?, skipCqe? }  IORING_MSG_SEND_FD (6.0): the file in slot `file` of the sending
 *                                ring's table goes into slot `slot` of the target's ('auto': one
 *                                the kernel picks); skipCqe (IORING_MSG_RING_CQE_SKIP): no CQE
 *                                on the target
 *   The user_data of the target's CQE is always ringflow's message space (src/ops/msg-ring-abi.ts):
 *   no argument sets it raw, so a message can never settle a request of the target ring.
 */
import type { OpDesc, ParamDesc } from './desc.js';
import { FixedFile, type Sqe } from './sqe.js';
import { SqeFlags } from '../ring/abi.js';
import { describeValue as describe } from '../errors.js';
import { FILE_INDEX_ALLOC, MAX_FIXED_FILES } from './fd-list.js';
import { MSG_RING_COMMANDS, MSG_RING_FLAGS, MESSAGE_DATA_MAX, dataMessageWords, fileMessageWords } from './msg-ring-abi.js';
import { isRingHandle, targetFd, guardsSlots, type RingHandle } from '../ring/ring-handle.js';

/** What a message is sent to (the `target` of msgRing, sendMessage, sendFile). */
export type MessageTarget = RingHandle | { handle(): RingHandle } | FixedFile | number;

/** A data message (IORING_MSG_DATA). */
export interface DataMessageSpec {
  /** Carried in the target CQE's user_data: an integer in [0, 2^31 - 1]. */
  data: number;
  /** The target CQE's res: an integer in [-2^31, 2^31 - 1] (default 0). */
  value?: number;
  /** The target CQE's flags (IORING_MSG_RING_FLAGS_PASS, 6.3); omitted: 0, without FLAGS_PASS. */
  flags?: number;
}
/** A file message (IORING_MSG_SEND_FD, 6.0). */
export interface FileMessageSpec {
  /** The slot of the sending ring's file table whose file is sent (a FixedFile or its index). */
  file: FixedFile | number;
  /** The slot of the target's file table it goes into, or 'auto' (default): a free one the kernel picks. */
  slot?: number | 'auto';
  /** IORING_MSG_RING_CQE_SKIP: post no CQE on the target (it gets the file silently). */
  skipCqe?: boolean;
}
export type MessageSpec = DataMessageSpec | FileMessageSpec;

declare module './build.js' {
  interface Builders {
    /**
     * IORING_OP_MSG_RING: posts a message CQE to another ring (`{ data, value?, flags? }`) or
     * passes it a file from this ring's registered table (`{ file, slot?, skipCqe? }`). The
     * request's own res: 0 for data, the target slot (or 0 for an explicit one) for a file.
     */
    msgRing(target: MessageTarget, message: MessageSpec, options?: CommonOptions): Sqe;
  }
}

const DATA_KEYS = new Set(['data', 'value', 'flags']);
const FILE_KEYS = new Set(['file', 'slot', 'skipCqe']);

function int(w: () => string, name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()}.${name} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${w()}.${name} must be in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

function applyTarget(op: OpDesc, s: Sqe, v: unknown, w: () => string): void {
  if (v instanceof FixedFile) {
    s.fd = v.index;
    s.flags |= SqeFlags.FIXED_FILE;
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError(`${w()} as a number must be an integer (a ring fd), got ${describe(v)}`);
    if (v < 0 || v > 0x7fffffff) throw new RangeError(`${w()} as a ring fd must be in [0, 2147483647], got ${describe(v)}`);
    s.fd = v;
    return;
  }
  let h: unknown = v;
  if (v !== null && typeof v === 'object' && typeof (v as { handle?: unknown }).handle === 'function') h = (v as { handle(): unknown }).handle();
  if (!isRingHandle(h))
    throw new TypeError(`${w()} must be a RingHandle (ring.handle()), a Ring, a FixedFile holding a ring, or a ring fd, got ${describe(v)}`);
  s.fd = targetFd(w(), h);
  handleTargets.set(s, h);
  s.submitCheck = submitCheckOf(h, false);
}

/** The handle a message Sqe was built for (applyTarget runs before applyMessage). */
const handleTargets = new WeakMap<Sqe, RingHandle>();

const slotRefusal = (where: string): string =>
  `${where}: the target ring lets its completion programs use slots of its file table, so a file may go there only into a slot the kernel picks (slot 'auto') with a CQE (no skipCqe): a named slot would replace a file a program was given`;

/**
 * The one submitCheck of a message Sqe built for handle `h`, made when it is built (never wrapped
 * per submission): every submission path (run, chain, bulk.push, callback requests) asks it again
 * what the build asked. The target must still be open and its fd still name its file, as
 * targetFd() checks at the build, with the same errors: its shared state says whether close()
 * began (an atomic load), and an fstat whether the fd still names that ring (the addon's fdIno:
 * about 0.2 µs per submission here, against 0.6 µs for fs.fstatSync): a ring whose thread ended
 * without close(), or that was collected without it, never clears its state, and its fd number may
 * have gone to a new ring since. `slots`: a file message
 * into a slot the sender names, or without a CQE, is refused once the target's programs may use
 * slots of its table (they may be granted them between the build and any submission).
 */
function submitCheckOf(h: RingHandle, slots: boolean): (method: string) => void {
  if (!slots) return (method) => void targetFd(method, h);
  return (method) => {
    targetFd(method, h);
    if (guardsSlots(h)) throw new RangeError(slotRefusal(method));
  };
}

function applyMessage(op: OpDesc, s: Sqe, v: unknown, w: () => string): void {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new TypeError(`${w()} must be { data, value?, flags? } (a data message) or { file, slot?, skipCqe? } (a file), got ${describe(v)}`);
  const m = v as Record<string, unknown>;
  const isFile = m.file !== undefined;
  if (!isFile && m.data === undefined) throw new TypeError(`${w()} must have "data" (a data message) or "file" (a file message)`);
  const keys = isFile ? FILE_KEYS : DATA_KEYS;
  for (const k of Object.keys(m))
    if (!keys.has(k)) throw new TypeError(`${w()}: "${k}" is not a key of a ${isFile ? 'file message ({ file, slot, skipCqe })' : 'data message ({ data, value, flags })'}`);
  if (!isFile) {
    const data = int(w, 'data', m.data, 0, MESSAGE_DATA_MAX);
    [s.offLo, s.offHi] = dataMessageWords(data);
    s.addrLo = MSG_RING_COMMANDS.DATA;
    s.len = int(w, 'value', m.value ?? 0, -0x80000000, 0x7fffffff) >>> 0;
    if (m.flags !== undefined) {
      s.fileIndex = int(w, 'flags', m.flags, 0, 0xffffffff);
      s.opFlags |= MSG_RING_FLAGS.FLAGS_PASS;
    }
    return;
  }
  const src = m.file instanceof FixedFile ? m.file.index : m.file;
  if (typeof src !== 'number' || !Number.isInteger(src)) throw new TypeError(`${w()}.file must be a FixedFile (a slot of this ring's file table) or a slot index, got ${describe(m.file)}`);
  if (src < 0 || src > MAX_FIXED_FILES - 1) throw new RangeError(`${w()}.file must be a slot in [0, ${MAX_FIXED_FILES - 1}], got ${src}`);
  const slot = m.slot ?? 'auto';
  const dst = slot === 'auto' ? -1 : int(w, 'slot', slot, 0, MAX_FIXED_FILES - 1);
  if (m.skipCqe !== undefined && typeof m.skipCqe !== 'boolean') throw new TypeError(`${w()}.skipCqe must be a boolean, got ${describe(m.skipCqe)}`);
  const h = handleTargets.get(s);
  if (h !== undefined && (dst >= 0 || m.skipCqe)) {
    if (guardsSlots(h)) throw new RangeError(slotRefusal(w()));
    // the target's programs may be granted slots between now and the submission: asked again
    // then, by the Sqe's one check (replacing applyTarget's, which it includes)
    s.submitCheck = submitCheckOf(h, true);
  }
  s.addrLo = MSG_RING_COMMANDS.SEND_FD;
  [s.addr3Lo, s.addr3Hi] = [src, 0];
  s.fileIndex = dst < 0 ? FILE_INDEX_ALLOC : dst + 1;
  [s.offLo, s.offHi] = fileMessageWords(dst);
  if (m.skipCqe) s.opFlags |= MSG_RING_FLAGS.CQE_SKIP;
}

/** Encodes a `ringTarget` or `ringMessage` parameter (build.ts dispatches them here). */
export function applyMsgParam(op: OpDesc, s: Sqe, p: ParamDesc, v: unknown, w: () => string): void {
  if (p.kind === 'ringTarget') applyTarget(op, s, v, w);
  else applyMessage(op, s, v, w);
}
