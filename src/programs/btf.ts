/**
 * A small BTF reader (kernel Documentation/bpf/btf.rst): enough to read BTF-defined maps, i.e.
 * the DATASEC ".maps" and, for each variable, the struct built by the __uint / __type macros:
 * `__uint(name, N)` is a member of type `int (*)[N]` (pointer to an array of N), `__type(name, T)`
 * a member of type `T *`.
 *
 * Untrusted input: the header's sections must lie inside the bytes, be 4-aligned and not
 * overlap; the string section must start with "" and end with a NUL (as the kernel requires);
 * every type record must fit, every referenced type id exist; chains of modifiers, typedefs and
 * arrays are followed at most LOADER_LIMITS.btfDepth steps (so a cycle is an error, not a hang)
 * and sizes are computed without overflow. Errors are ProgramError 'EELF' ("elf: .BTF: ...").
 */
import { ProgramError } from './errors.js';
import { Bytes, StringTable, LOADER_LIMITS } from './loader-bytes.js';

/** BTF kinds (BTF_KIND_*). */
export const BtfKind = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

/** One BTF type (members for STRUCT/UNION/DATASEC, array info for ARRAY). */
export interface BtfType {
  readonly id: number;
  readonly kind: number;
  readonly name: string;
  /** size (INT, STRUCT, UNION, ENUM, DATASEC, FLOAT) or referenced type id (PTR, TYPEDEF, VAR, ...). */
  readonly sizeOrType: number;
  readonly members?: readonly { name: string; type: number; offset: number }[];
  readonly array?: { type: number; nelems: number };
}

const bad = (msg: string): never => {
  throw new ProgramError('EELF', -1, `elf: .BTF: ${msg}`);
};

const HDR_MIN = 24;
const BTF_MAGIC = 0xeb9f;
const BTF_VERSION = 1;
const KIND_NAMES = Object.fromEntries(Object.entries(BtfKind).map(([k, v]) => [v, k])) as Record<number, string>;
/** Kinds whose size_or_type field is a type id. */
const REF_KINDS = new Set<number>([BtfKind.PTR, BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.FUNC, BtfKind.FUNC_PROTO, BtfKind.VAR, BtfKind.DECL_TAG, BtfKind.TYPE_TAG]);
/** Kinds that resolve() looks through. */
const MODIFIERS = new Set<number>([BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG, BtfKind.VAR]);

/** "type N (KIND name)" for messages. */
const typeLabel = (t: BtfType): string => `type ${t.id} (${KIND_NAMES[t.kind] ?? t.kind}${t.name ? ` ${t.name}` : ''})`;

/** Parsed .BTF section. */
export class Btf {
  /** Types by id (index 0 is void, undefined). */
  readonly types: (BtfType | undefined)[] = [undefined];

  /** Parses the bytes of a .BTF section. @throws ProgramError 'EELF' when malformed. */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('btf must be a Uint8Array');
    const b = new Bytes(bytes, 'the .BTF section', bad);
    if (bytes.length < HDR_MIN) bad(`section too small for a header (${bytes.length} bytes)`);
    const magic = b.u16(0, 'magic');
    if (magic !== BTF_MAGIC) bad(`bad magic 0x${magic.toString(16)}`);
    if (b.u8(2, 'version') !== BTF_VERSION) bad(`version ${b.u8(2, 'version')} is not supported (expected ${BTF_VERSION})`);
    const hdrLen = b.u32(4, 'hdr_len');
    if (hdrLen < HDR_MIN || hdrLen > bytes.length) bad(`hdr_len ${hdrLen} is outside ${HDR_MIN}..${bytes.length}`);
    const sec = (offField: number, name: string): { start: number; end: number } => {
      const off = b.u32(offField, `${name}_off`);
      const len = b.u32(offField + 4, `${name}_len`);
      const start = hdrLen + off;
      if (start + len > bytes.length) bad(`${name} section (hdr_len ${hdrLen} + ${name}_off ${off}, ${name}_len ${len}) runs past the end (${bytes.length} bytes)`);
      return { start, end: start + len };
    };
    const ts = sec(8, 'type');
    const ss = sec(16, 'str');
    if (ts.start % 4 || (ts.end - ts.start) % 4) bad(`type section at ${ts.start} (${ts.end - ts.start} bytes) is not 4-byte aligned`);
    if (ts.start < ss.end && ss.start < ts.end && ts.end > ts.start) bad(`type section ${ts.start}..${ts.end} overlaps string section ${ss.start}..${ss.end}`);
    if (ss.end === ss.start || bytes[ss.start] !== 0 || bytes[ss.end - 1] !== 0) bad('string section must start with an empty string and end with a NUL');
    const strs = new StringTable(bytes.subarray(ss.start, ss.end), 'the BTF string section', bad);

    let p = ts.start;
    const need = (n: number, id: number): void => {
      if (p + n > ts.end) bad(`type ${id} at offset ${p} needs ${n} bytes, past the end of the type section (${ts.end})`);
    };
    while (p < ts.end) {
      const id = this.types.length;
      need(12, id);
      const info = b.u32(p + 4, 'info');
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const name = strs.get(b.u32(p, 'name_off'), `type ${id}`);
      const sizeOrType = b.u32(p + 8, 'size_or_type');
      p += 12;
      const t: { -readonly [K in keyof BtfType]: BtfType[K] } = { id, kind, name, sizeOrType };
      switch (kind) {
        case BtfKind.INT:
        case BtfKind.VAR:
        case BtfKind.DECL_TAG:
          need(4, id);
          p += 4;
          break;
        case BtfKind.ARRAY:
          need(12, id);
          t.array = { type: b.u32(p, 'array type'), nelems: b.u32(p + 8, 'array nelems') };
          p += 12;
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.DATASEC: {
          need(12 * vlen, id);
          const members = [];
          for (let i = 0; i < vlen; i++, p += 12) {
            const x = b.u32(p, 'member');
            const y = b.u32(p + 4, 'member');
            const z = b.u32(p + 8, 'member');
            // DATASEC entries are {type, offset, size}; struct members {name_off, type, offset(bits)}.
            members.push(kind === BtfKind.DATASEC ? { name: '', type: x, offset: y } : { name: strs.get(x, `type ${id} member ${i}`), type: y, offset: z });
          }
          t.members = members;
          break;
        }
        case BtfKind.ENUM:
        case BtfKind.FUNC_PROTO:
          need(8 * vlen, id);
          p += 8 * vlen;
          break;
        case BtfKind.ENUM64:
          need(12 * vlen, id);
          p += 12 * vlen;
          break;
        case BtfKind.PTR:
        case BtfKind.FWD:
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.FUNC:
        case BtfKind.FLOAT:
        case BtfKind.TYPE_TAG:
          break;
        default:
          bad(`type ${id} at offset ${p - 12}: unknown kind ${kind}`);
      }
      this.types.push(t);
    }
    // Every type id a type refers to must exist (the kernel checks the same).
    const n = this.types.length;
    const ref = (t: BtfType, id: number, what: string): void => {
      if (id >= n) bad(`${typeLabel(t)}: ${what} refers to type ${id}, past the last type (${n - 1})`);
    };
    for (let id = 1; id < n; id++) {
      const t = this.types[id]!;
      if (REF_KINDS.has(t.kind)) ref(t, t.sizeOrType, 'its type');
      if (t.array) ref(t, t.array.type, 'its element type');
      if (t.members) for (const [i, m] of t.members.entries()) ref(t, m.type, `member ${i}`);
    }
  }

  /** The type with this id. @throws ProgramError when out of range or void. */
  get(id: number): BtfType {
    return this.types[id] ?? bad(`type id ${id} is ${id === 0 ? 'void' : `out of range (last is ${this.types.length - 1})`}`);
  }

  /** Follows typedef/const/volatile/restrict/type_tag (and VAR) to the underlying type. */
  resolve(id: number): BtfType {
    const from = id;
    for (let i = 0; i <= LOADER_LIMITS.btfDepth; i++) {
      const t = this.get(id);
      if (!MODIFIERS.has(t.kind)) return t;
      id = t.sizeOrType;
    }
    return bad(`type ${from}: chain of modifiers longer than ${LOADER_LIMITS.btfDepth} (a cycle?)`);
  }

  /** Byte size of a type (at most 2^32 - 1: a map's key or value). */
  sizeOf(id: number): number {
    const from = id;
    let scale = 1;
    for (let depth = 0; depth <= LOADER_LIMITS.btfDepth; depth++) {
      const t = this.resolve(id);
      let size: number;
      switch (t.kind) {
        case BtfKind.INT:
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.FLOAT:
        case BtfKind.DATASEC:
          size = t.sizeOrType;
          break;
        case BtfKind.PTR:
          size = 8;
          break;
        case BtfKind.ARRAY:
          scale *= t.array!.nelems;
          if (scale > 0xffffffff) bad(`type ${from}: array sizes multiply past 2^32`);
          id = t.array!.type;
          continue;
        default:
          return bad(`${typeLabel(t)} has no size`);
      }
      const total = scale * size;
      if (total > 0xffffffff) bad(`type ${from}: size ${total} is past 2^32`);
      return total;
    }
    return bad(`type ${from}: arrays nested deeper than ${LOADER_LIMITS.btfDepth} (a cycle?)`);
  }

  /** A DATASEC by name. */
  datasec(name: string): BtfType | undefined {
    return this.types.find((t) => t?.kind === BtfKind.DATASEC && t.name === name);
  }
}

/** A map definition read from BTF. */
export interface BtfMapDef {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
}

/** Reads the BTF-defined maps of DATASEC ".maps" (libbpf conventions). */
export function btfMaps(btf: Btf): BtfMapDef[] {
  const sec = btf.datasec('.maps');
  if (!sec) return [];
  // Definitions by struct type id: many variables of one struct type cost one walk of its members.
  const byStruct = new Map<number, Omit<BtfMapDef, 'name'>>();
  return sec.members!.map((m) => {
    const v = btf.get(m.type);
    if (v.kind !== BtfKind.VAR) bad(`.maps entry ${m.type} is not a variable`);
    const st = btf.resolve(v.sizeOrType);
    if (st.kind !== BtfKind.STRUCT) bad(`map ${v.name} is not a struct`);
    let def = byStruct.get(st.id);
    if (!def) byStruct.set(st.id, (def = mapDef(btf, v.name, st)));
    return { name: v.name, ...def };
  });
}

function mapDef(btf: Btf, map: string, st: BtfType): Omit<BtfMapDef, 'name'> {
  const def = { type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0 };
  for (const f of st.members!) {
    const ptr = btf.resolve(f.type);
    if (ptr.kind !== BtfKind.PTR) bad(`map ${map} member ${f.name} is not a pointer (use __uint or __type)`);
    const uintValue = (): number => {
      const arr = btf.resolve(ptr.sizeOrType);
      if (arr.kind !== BtfKind.ARRAY) bad(`map ${map} member ${f.name} must be __uint(${f.name}, N)`);
      return arr.array!.nelems;
    };
    switch (f.name) {
      case 'type':
        def.type = uintValue();
        break;
      case 'max_entries':
        def.maxEntries = uintValue();
        break;
      case 'map_flags':
        def.flags = uintValue();
        break;
      case 'key_size':
        def.keySize = uintValue();
        break;
      case 'value_size':
        def.valueSize = uintValue();
        break;
      case 'key':
        def.keySize = btf.sizeOf(ptr.sizeOrType);
        break;
      case 'value':
        def.valueSize = btf.sizeOf(ptr.sizeOrType);
        break;
      case 'pinning':
      case 'numa_node':
        break;
      default:
        bad(`map ${map}: member ${f.name} is not supported`);
    }
  }
  return def;
}
