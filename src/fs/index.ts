/// <reference types="node" preserve="true" />
/**
 * ringflow/fs: node:fs/promises on io_uring. The same functions, FileHandle methods, arguments,
 * results and errors; the calls io_uring has run as ring requests on a per-thread default ring,
 * the rest fall back to node:fs/promises (src/fs/fallbacks.ts lists which is which).
 *
 * ```ts
 * import fs from 'ringflow/fs';            // was: import fs from 'node:fs/promises';
 * const text = await fs.readFile('/etc/hostname', 'utf8');
 * ```
 *
 * The default export has exactly the keys of node:fs/promises' default export on the running Node
 * line; `createFs({ ring })` returns the same surface bound to a ring of your own.
 */
import * as nodeFsp from 'node:fs/promises';
import type { Ring } from '../ring/ring.js';
import { Ring as RingClass } from '../ring/core.js';
import { defaultRing, defaultRingReady } from './default-ring.js';
import { pathOps } from './path-ops.js';
import { guardPathOp } from './path-guard.js';

type NodeFsPromises = typeof import('node:fs/promises');
/**
 * node:fs/promises' FileHandle type, the type open() resolves here: code that names it after
 * switching its import compiles as before. The object open() gives is ringflow's FileHandle
 * (src/fs/file-handle.ts), which has node's methods and properties.
 */
export type FileHandle = import('node:fs/promises').FileHandle;
/** The surface: node:fs/promises' functions and constants (its FileHandle type stands for ringflow's). */
export type FsPromises = Omit<NodeFsPromises, 'default'>;

const nodeDefault = (nodeFsp as unknown as { default: Record<string, unknown> }).default;

/** Builds the node:fs/promises surface (same keys, same order) over a ring getter. */
function surface(ringOf: () => Ring, ready?: () => boolean): FsPromises {
  const ours = pathOps(ringOf) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(nodeDefault))
    out[key] = Object.hasOwn(ours, key) ? guardPathOp(key, ours[key] as never, nodeDefault[key] as never, ready) : nodeDefault[key];
  return out as unknown as FsPromises;
}

export interface CreateFsOptions {
  /** The ring every call of this surface uses (and its FileHandles); it must live on this thread. */
  ring: Ring;
}

/** The node:fs/promises surface bound to `options.ring` instead of the thread's default ring. */
export function createFs(options: CreateFsOptions): FsPromises {
  if (options === null || typeof options !== 'object' || !(options.ring instanceof RingClass))
    throw new TypeError('createFs(): options.ring must be a Ring');
  const ring = options.ring;
  return surface(() => ring);
}

const fs = surface(defaultRing, defaultRingReady);
export default fs;

/*
 * The named exports. An ES module's export names are fixed when it is parsed, yet node:fs/promises
 * has different ones on different lines (glob from 22, mkdtempDisposable from 24). So node's own
 * namespace is re-exported whole (`export *` takes the names node's module has on the running
 * line, never `default`), and each name ringflow implements is declared here, which takes
 * precedence over the re-export: the namespace has exactly node's keys (plus createFs), and the
 * names ringflow does not implement (glob, mkdtempDisposable, ...) are node's functions, as the
 * default export has them.
 */
export * from 'node:fs/promises';
export const access = fs.access;
export const appendFile = fs.appendFile;
export const chmod = fs.chmod;
export const chown = fs.chown;
export const constants = fs.constants;
export const copyFile = fs.copyFile;
export const cp = fs.cp;
export const lchmod = fs.lchmod;
export const lchown = fs.lchown;
export const link = fs.link;
export const lstat = fs.lstat;
export const lutimes = fs.lutimes;
export const mkdir = fs.mkdir;
export const mkdtemp = fs.mkdtemp;
export const open = fs.open;
export const opendir = fs.opendir;
export const readFile = fs.readFile;
export const readdir = fs.readdir;
export const readlink = fs.readlink;
export const realpath = fs.realpath;
export const rename = fs.rename;
export const rm = fs.rm;
export const rmdir = fs.rmdir;
export const stat = fs.stat;
export const statfs = fs.statfs;
export const symlink = fs.symlink;
export const truncate = fs.truncate;
export const unlink = fs.unlink;
export const utimes = fs.utimes;
export const watch = fs.watch;
export const writeFile = fs.writeFile;
