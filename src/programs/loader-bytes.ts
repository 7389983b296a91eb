/**
 * Bounded reading of untrusted object bytes, shared by the ELF and BTF loaders: every read is
 * checked against the bytes it reads from, and every failure is the caller's `fail` (a
 * ProgramError 'EELF' naming the field, offset and what it lies in). Nothing here allocates in
 * proportion to a number read from the input: strings are found with a bounded scan, cached by
 * offset, and the total decoded from one table is capped by the table's own size.
 */

/** Throws (a ProgramError 'EELF' with the loader's prefix); never returns. */
export type Fail = (msg: string) => never;

/** Limits of the object loaders (documented in docs/security.md). */
export const LOADER_LIMITS = {
  /** Longest name (section, symbol, BTF) in bytes, without its NUL. */
  nameBytes: 4096,
  /** Most maps one object may declare (BTF, legacy and global data together). */
  maps: 1024,
  /** Most bytes the maps of one object may declare in total (the native engine's per-map cap). */
  mapBytes: 1 << 30,
  /** Most instructions all programs of one object link to in total (8 MiB of code). */
  linkedInsns: 1 << 20,
  /** Longest chain of BTF modifiers, typedefs and arrays followed to a type (kernel: 32). */
  btfDepth: 32,
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Hex for messages. */
export const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** Checked little-endian reads from one byte range. */
export class Bytes {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;

  /** `what` names the range in messages (e.g. 'the file', 'section 4 (.BTF)'). */
  constructor(bytes: Uint8Array, private readonly what: string, private readonly fail: Fail) {
    // A plain Uint8Array view (a Buffer's subarray() is much slower, and this one never escapes).
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Fails unless [off, off + n) lies inside the range. */
  check(off: number, n: number, field: string): void {
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(n) || off < 0 || n < 0 || off + n > this.bytes.length) {
      this.fail(`${field} at offset ${off} (${n} bytes) is outside ${this.what} (${this.bytes.length} bytes)`);
    }
  }

  u8(off: number, field: string): number {
    this.check(off, 1, field);
    return this.bytes[off]!;
  }

  u16(off: number, field: string): number {
    this.check(off, 2, field);
    return this.dv.getUint16(off, true);
  }

  u32(off: number, field: string): number {
    this.check(off, 4, field);
    return this.dv.getUint32(off, true);
  }

  i32(off: number, field: string): number {
    this.check(off, 4, field);
    return this.dv.getInt32(off, true);
  }

  /** A u64 that must fit a safe integer (sizes and offsets in a file that is in memory do). */
  u64(off: number, field: string): number {
    this.check(off, 8, field);
    return this.u64In(off, field);
  }

  /**
   * A u64 at an offset the caller has already checked (inside a table whose extent was checked
   * once); `field` is only formatted on failure.
   */
  u64In(off: number, field: string | (() => string)): number {
    const lo = this.dv.getUint32(off, true);
    const hi = this.dv.getUint32(off + 4, true);
    if (hi > 0x1fffff) this.fail(`${typeof field === 'string' ? field : field()} is ${hex(this.dv.getBigUint64(off, true))}, larger than any offset or size in a file`);
    return hi * 0x100000000 + lo;
  }

  /** u32 / u16 at an offset the caller has already checked. */
  u32In(off: number): number {
    return this.dv.getUint32(off, true);
  }

  u16In(off: number): number {
    return this.dv.getUint16(off, true);
  }

  /** The sub-range [off, off + len), checked. */
  sub(off: number, len: number, field: string): Uint8Array {
    this.check(off, len, field);
    return this.bytes.subarray(off, off + len);
  }
}

/**
 * NUL-terminated strings of one table (ELF .strtab/.shstrtab, the BTF string section), by offset.
 * A name longer than LOADER_LIMITS.nameBytes or without its NUL inside the table fails.
 */
export class StringTable {
  private readonly cache = new Map<number, string>();
  private decoded = 0;
  private readonly budget: number;

  private readonly bytes: Uint8Array;

  /** `what` names the table in messages. */
  constructor(bytes: Uint8Array, private readonly what: string, private readonly fail: Fail) {
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Distinct names in a real table never add up to more than its size; overlapping offsets
    // (suffix sharing) a little more. Past this, a crafted table is making us decode it again and again.
    this.budget = 4 * bytes.length + LOADER_LIMITS.nameBytes;
  }

  /** The string at `off`; `user` says who refers to it (e.g. 'symbol 7'). */
  get(off: number, user: string): string {
    const have = this.cache.get(off);
    if (have !== undefined) return have;
    if (!Number.isSafeInteger(off) || off < 0 || off >= this.bytes.length) this.fail(`${user}: name offset ${off} is outside ${this.what} (${this.bytes.length} bytes)`);
    const max = LOADER_LIMITS.nameBytes;
    const b = this.bytes;
    const stop = Math.min(b.length, off + max + 1);
    let e = off;
    let ascii = true;
    for (; e < stop && b[e] !== 0; e++) if (b[e]! >= 0x80) ascii = false;
    if (e === stop) {
      if (stop === b.length) this.fail(`${user}: name at offset ${off} of ${this.what} has no terminating NUL`);
      this.fail(`${user}: name at offset ${off} of ${this.what} is longer than ${max} bytes`);
    }
    const len = e - off;
    this.decoded += len;
    if (this.decoded > this.budget) this.fail(`${user}: names decoded from ${this.what} exceed ${this.budget} bytes (overlapping names)`);
    let s = '';
    if (ascii) for (let i = off; i < e; i++) s += String.fromCharCode(b[i]!);
    else s = utf8.decode(b.subarray(off, e));
    this.cache.set(off, s);
    return s;
  }
}
