/**
 * The completion programs that ship with ringflow, prebuilt: programs/<name>.bpf.c and the object
 * clang made of it, programs/<name>.bpf.o (scripts/build-programs.sh; docs/programs.md). eBPF
 * objects are the same on every host, so running them needs no compiler; clang is needed only to
 * write programs of your own. test/programs/prebuilt.test.ts rebuilds each object when clang is
 * present and fails if the bytes differ.
 */
import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { packageRoot } from '../native.js';

/** The prebuilt objects (one per programs/<name>.bpf.c). */
export const BUILTIN_OBJECTS = ['chain', 'echo', 'echo_group', 'echo_multi', 'read_open', 'relay'] as const;
export type BuiltinObjectName = (typeof BUILTIN_OBJECTS)[number];

/** The package's programs/ directory, with a trailing separator. */
export const builtinObjectDir = join(packageRoot, 'programs') + sep;

/**
 * The ELF bytes of a prebuilt object, for loadObject()/loadProgram().
 * @throws TypeError when `name` is not one of BUILTIN_OBJECTS
 */
export function builtinObject(name: BuiltinObjectName): Uint8Array {
  if (!(BUILTIN_OBJECTS as readonly string[]).includes(name))
    throw new TypeError(`builtinObject: name must be one of ${BUILTIN_OBJECTS.map((n) => `'${n}'`).join(', ')}, got ${typeof name === 'string' ? `'${name}'` : typeof name}`);
  return readFileSync(`${builtinObjectDir}${name}.bpf.o`);
}
