/**
 * ringflow eBPF completion programs: public API.
 *
 * ```ts
 * import { assemble, Program, loadProgram } from 'ringflow/programs';
 * const p = Program.fromAssembly('mov %r0, 42\nexit');
 * p.run(new Uint8Array(16)); // { r0: 42n, insns: 2, status: 'ok' }
 * ```
 */
export { ISA, BY_OPCODE, BY_MNEMONIC, Cls, INSN_SIZE, STACK_SIZE, MAX_CALL_FRAMES, MAX_INSNS, decodeInsn, decodeAll, encodeAll, lookupSpec } from './isa.js';
export type { Insn, InsnSpec, Shape, Field, Group } from './isa.js';
export { assemble } from './asm.js';
export type { AssembleOptions } from './asm.js';
export { disassemble, formatInsn } from './disasm.js';
export type { DisassembleOptions } from './disasm.js';
export { HELPERS, HELPER_SET, helperFor, helperById } from './helpers.js';
export type { ProgramKind, HelperSpec, HelperArg, ArgKind, HelperReturn } from './helpers.js';
export { verifyProgram } from './verify.js';
export type { MapInfo, VerifyOptions, VerifyResult } from './verify.js';
export { parseObject, kindOfSection } from './elf.js';
export type { ObjectSpec, ProgramSpec, MapSpec } from './elf.js';
export { Btf, btfMaps, BtfKind } from './btf.js';
export type { BtfType, BtfMapDef } from './btf.js';
export { BpfMap, ArrayMap, HashMap, RingBufMap, createMap, engineAvailable } from './maps.js';
export type { MapOptions } from './maps.js';
export { Program, loadProgram, loadObject, readTrace, runFailure, DEFAULT_BUDGET } from './program.js';
export type { ProgramOptions, RunOptions, RunResult, RunStatusName, LoadedObject, LoadOptions } from './program.js';
export { ProgramError } from './errors.js';
export type { ProgramErrorCode } from './errors.js';
export { MapType, MapFlags, HelperSet, RunStatus, CreateReject } from './binding.js';
export { builtinObject, BUILTIN_OBJECTS } from './builtin.js';
export type { BuiltinObjectName } from './builtin.js';
