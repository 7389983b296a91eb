/**
 * Provided-buffer groups for completion programs: `ring.allowBufferGroup(group, allow = true)`,
 * installed on Ring.prototype when the package entry loads (as src/buffers/install.ts is).
 *
 * A granted group is the programs': their RECVs may select from it (IOSQE_BUFFER_SELECT with
 * buf_group = its id; the policy refuses any other group with -EACCES), the buffer a CQE names is
 * theirs from that CQE on (the engine marks it in the group's ownership table, which JS's
 * BufferGroup shares: src/buffers/group-state.ts), they read it with helper 1002 (rf_buf_read) or
 * name it in a SEND, and give it back with helper 1001 (rf_buf_return), which writes the ring entry
 * itself. JS requests may not select from the group while it is granted. Only groups whose memory
 * ringflow owns natively (BufferGroup, ring-mapped) can be granted: never a group made with raw
 * PROVIDE_BUFFERS requests over JS memory. docs/completion-programs.md, docs/security.md.
 */
import { Ring, ringInternals as internals } from '../ring/ring.js';
import { binding } from '../native.js';
import { RingError, describeValue as describe } from '../errors.js';
import { BufferGroup, groupOf } from './buffer-group.js';

declare module '../ring/ring.js' {
  interface Ring {
    /**
     * Lets completion programs select buffers from `group` (a BufferGroup of this ring, or its
     * id) and hold, read, send and give back the buffers they get (allow false: takes it back).
     * While granted, JS requests cannot select from it. Taking it back, or closing the group,
     * fails with EBUSY while a program request that selected from it, or uses one of its buffers,
     * is alive.
     */
    allowBufferGroup(group: BufferGroup | number, allow?: boolean): void;
  }
}

const granted = new WeakMap<Ring, Set<BufferGroup>>();

/** The RingError of an engine refusal. */
function refused(r: number, what: string, id: number): RingError {
  const hint =
    r === -16
      ? 'a program request that selected from the group, or whose kernel use names one of its buffers, is still alive: stop the program (or wait for the request) and try again'
      : undefined;
  return new RingError(r, 'engine', { detail: `${what} buffer group ${id}`, ...(hint ? { hint } : {}) });
}

Ring.prototype.allowBufferGroup = function (this: Ring, group: BufferGroup | number, allow: boolean = true): void {
  if (arguments.length < 1 || arguments.length > 2) throw new TypeError(`allowBufferGroup() takes (group, allow?), got ${arguments.length} arguments`);
  if (typeof allow !== 'boolean') throw new TypeError(`allowBufferGroup(group, allow): allow must be a boolean, got ${describe(allow)}`);
  const ri = internals(this);
  ri.assertOpen();
  let g: BufferGroup | undefined;
  if (group instanceof BufferGroup) {
    if (group.ring !== this) throw new RangeError(`allowBufferGroup(): buffer group ${group.id} belongs to another ring`);
    g = group;
  } else if (typeof group === 'number' && Number.isInteger(group)) {
    if (group < 0 || group > 0xffff) throw new RangeError(`allowBufferGroup(): a group id must be in [0, 65535], got ${group}`);
    g = groupOf(this, group);
    if (!g)
      throw new RangeError(
        `allowBufferGroup(): group ${group} is no open BufferGroup of this ring: programs are granted only groups whose memory ringflow owns (ring.bufferGroup()), never buffers provided from JS memory`,
      );
  } else {
    throw new TypeError(`allowBufferGroup(): group must be a BufferGroup or its id, got ${describe(group)}`);
  }
  const set = granted.get(this) ?? new Set<BufferGroup>();
  granted.set(this, set);
  const bg = g;
  const revoke = (): void => {
    const r = binding.engineRevokeGroup(ri.handle, bg.id) as number;
    if (r < 0 && r !== -2) throw refused(r, 'taking back', bg.id);
    set.delete(bg);
    bg.revoked();
  };
  if (!allow) {
    if (set.has(bg)) revoke();
    return;
  }
  if (set.has(bg)) return;
  ri.enableEngine();
  const grant = bg.grantTo(revoke);
  const r = binding.engineGrantGroup(
    ri.handle, bg.id, grant.buffers.handle, grant.ring.handle, grant.table.handle, bg.count, bg.size, grant.entries, grant.incremental,
  ) as number;
  if (r < 0) {
    bg.revoked();
    throw refused(r, 'granting', bg.id);
  }
  set.add(bg);
};
