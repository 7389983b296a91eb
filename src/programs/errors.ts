/**
 * The one error class of the programs API. Native code never throws; it hands back codes that
 * the TypeScript side turns into a ProgramError (better-sqlite3 habit: the error class lives in JS).
 */

/** What went wrong, by stage. */
export type ProgramErrorCode =
  /** Assembler text could not be parsed; pc is the source line (1-based). */
  | 'EASM'
  /** The static verifier rejected the program; pc is the instruction index. */
  | 'EVERIFY'
  /**
   * The ELF object (its header, sections, symbols, relocations, maps or BTF) is malformed, uses
   * something unsupported or exceeds a loader limit; the message names the section, symbol or
   * offset at fault; pc is -1.
   */
  | 'EELF'
  /** The native engine rejected the program at creation (its re-check); pc is the instruction. */
  | 'ECREATE'
  /** A native call failed (map creation, -errno) or the native engine is unavailable. */
  | 'ENATIVE';

/** Error thrown by the assembler, verifier, ELF loader and program creation. */
export class ProgramError extends Error {
  /** Stage that failed. */
  readonly code: ProgramErrorCode;
  /** Instruction index (or source line for EASM); -1 when not tied to one. */
  readonly pc: number;
  /** Additional messages (e.g. verifier notes collected before the failure). */
  readonly notes: readonly string[];

  /** Creates an error; `message` already carries its prefix and pc. */
  constructor(code: ProgramErrorCode, pc: number, message: string, notes: readonly string[] = []) {
    super(message);
    this.name = 'ProgramError';
    this.code = code;
    this.pc = pc;
    this.notes = notes;
  }
}
