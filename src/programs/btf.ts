/**
 * A small BTF reader (kernel Documentation/bpf/btf.rst): enough to read BTF-defined maps, i.e.
 * the DATASEC ".maps" and, for each variable, the struct built by the __uint / __type macros:
 * `__uint(name, N)` is a member of type `int (*)[N]` (pointer to an array of N), `__type(name, T)`
 * a member of type `T *`.
 */
import { ProgramError } from './errors.js';

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

/** Parsed .BTF section. */
export class Btf {
  /** Types by id (index 0 is void, undefined). */
  readonly types: (BtfType | undefined)[] = [undefined];

  /** Parses the bytes of a .BTF section. @throws ProgramError 'EELF' when malformed. */
  constructor(bytes: Uint8Array) {
    if (bytes.length < 24) bad('section too small for a header');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint16(0, true) !== 0xeb9f) bad(`bad magic 0x${dv.getUint16(0, true).toString(16)}`);
    const hdrLen = dv.getUint32(4, true);
    const typeOff = hdrLen + dv.getUint32(8, true);
    const typeLen = dv.getUint32(12, true);
    const strOff = hdrLen + dv.getUint32(16, true);
    const strLen = dv.getUint32(20, true);
    if (typeOff + typeLen > bytes.length || strOff + strLen > bytes.length) bad('type or string section out of bounds');
    const str = (off: number): string => {
      if (off >= strLen) bad(`string offset ${off} out of bounds`);
      let end = strOff + off;
      while (end < strOff + strLen && bytes[end] !== 0) end++;
      return new TextDecoder().decode(bytes.subarray(strOff + off, end));
    };
    let p = typeOff;
    const end = typeOff + typeLen;
    const need = (n: number): void => {
      if (p + n > end) bad(`type ${this.types.length} truncated`);
    };
    while (p < end) {
      need(12);
      const name = str(dv.getUint32(p, true));
      const info = dv.getUint32(p + 4, true);
      const sizeOrType = dv.getUint32(p + 8, true);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      p += 12;
      const t: { -readonly [K in keyof BtfType]: BtfType[K] } = { id: this.types.length, kind, name, sizeOrType };
      switch (kind) {
        case BtfKind.INT:
        case BtfKind.VAR:
        case BtfKind.DECL_TAG:
          need(4);
          p += 4;
          break;
        case BtfKind.ARRAY:
          need(12);
          t.array = { type: dv.getUint32(p, true), nelems: dv.getUint32(p + 8, true) };
          p += 12;
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.DATASEC: {
          need(12 * vlen);
          const members = [];
          for (let i = 0; i < vlen; i++, p += 12) {
            const a = dv.getUint32(p, true);
            const b = dv.getUint32(p + 4, true);
            const c = dv.getUint32(p + 8, true);
            // DATASEC entries are {type, offset, size}; struct members {name_off, type, offset(bits)}.
            members.push(kind === BtfKind.DATASEC ? { name: '', type: a, offset: b } : { name: str(a), type: b, offset: c });
          }
          t.members = members;
          break;
        }
        case BtfKind.ENUM:
        case BtfKind.FUNC_PROTO:
          need(8 * vlen);
          p += 8 * vlen;
          break;
        case BtfKind.ENUM64:
          need(12 * vlen);
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
          bad(`unknown kind ${kind} at type ${this.types.length}`);
      }
      this.types.push(t);
    }
  }

  /** The type with this id. @throws ProgramError when out of range. */
  get(id: number): BtfType {
    return this.types[id] ?? bad(`type id ${id} out of range`);
  }

  /** Follows typedef/const/volatile/restrict/type_tag (and VAR) to the underlying type. */
  resolve(id: number): BtfType {
    for (let i = 0; i < 64; i++) {
      const t = this.get(id);
      if (t.kind === BtfKind.TYPEDEF || t.kind === BtfKind.VOLATILE || t.kind === BtfKind.CONST || t.kind === BtfKind.RESTRICT || t.kind === BtfKind.TYPE_TAG || t.kind === BtfKind.VAR) id = t.sizeOrType;
      else return t;
    }
    return bad(`type chain too long at ${id}`);
  }

  /** Byte size of a type. */
  sizeOf(id: number): number {
    const t = this.resolve(id);
    switch (t.kind) {
      case BtfKind.INT:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
      case BtfKind.DATASEC:
        return t.sizeOrType;
      case BtfKind.PTR:
        return 8;
      case BtfKind.ARRAY:
        return t.array!.nelems * this.sizeOf(t.array!.type);
      default:
        return bad(`type ${t.id} (kind ${t.kind}) has no size`);
    }
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
  return sec.members!.map((m) => {
    const v = btf.get(m.type);
    if (v.kind !== BtfKind.VAR) bad(`.maps entry ${m.type} is not a variable`);
    const st = btf.resolve(v.sizeOrType);
    if (st.kind !== BtfKind.STRUCT) bad(`map ${v.name} is not a struct`);
    const def = { name: v.name, type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0 };
    for (const f of st.members!) {
      const ptr = btf.resolve(f.type);
      if (ptr.kind !== BtfKind.PTR) bad(`map ${v.name} member ${f.name} is not a pointer (use __uint or __type)`);
      const uintValue = (): number => {
        const arr = btf.resolve(ptr.sizeOrType);
        if (arr.kind !== BtfKind.ARRAY) bad(`map ${v.name} member ${f.name} must be __uint(${f.name}, N)`);
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
          bad(`map ${v.name}: member ${f.name} is not supported`);
      }
    }
    return def;
  });
}
