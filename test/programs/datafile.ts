// Parser for bpf_conformance-style data files (-- asm, -- mem, -- result, -- error, -- map).

/** One parsed data file. */
export interface DataFile {
  asm: string;
  mem: Uint8Array;
  result?: bigint;
  error?: string;
  maps: { name: string; type: number; keySize: number; valueSize: number; maxEntries: number }[];
}

/** Parses the bpf_conformance data format. */
export function parseDataFile(text: string): DataFile {
  const sections = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = /^--\s*(\S.*?)\s*$/.exec(line);
    if (m) sections.set(m[1]!, (cur = []));
    else cur?.push(line);
  }
  const body = (k: string): string | undefined => sections.get(k)?.join('\n');
  const clean = (s: string): string[] => s.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
  const memHex = clean(body('mem') ?? '').join(' ');
  const mem = memHex ? Uint8Array.from(memHex.split(/\s+/).map((b) => parseInt(b, 16))) : new Uint8Array(0);
  const result = body('result') !== undefined ? BigInt(clean(body('result')!)[0]!) : undefined;
  const error = body('error') !== undefined ? clean(body('error')!)[0] : undefined;
  const maps = clean(body('map') ?? '').map((l) => {
    const [name, type, k, v, n] = l.split(/\s+/);
    return { name: name!, type: Number(type), keySize: Number(k), valueSize: Number(v), maxEntries: Number(n) };
  });
  return { asm: body('asm') ?? '', mem, ...(result !== undefined ? { result } : {}), ...(error !== undefined ? { error } : {}), maps };
}

/** Runs a data file through the API; returns r0 (hex, no prefix) or the error text. */
