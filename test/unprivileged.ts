/**
 * Runs a module body as an unprivileged user (uid/gid 65534, no groups) with RLIMIT_MEMLOCK 0, the
 * way a user without CAP_IPC_LOCK meets the limit. It first checks, as that user, that the files the
 * body loads are readable: a checkout in a directory other users cannot enter (a home directory
 * with mode 700) is a reason to skip, not a failure.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const NOBODY = 65534;

/** The outcome: the body's JSON output, or why it could not run. */
export type Unprivileged = { out: unknown } | { skip: string };

function asNobody(args: string[], memlock = 0): ReturnType<typeof spawnSync> {
  return spawnSync('prlimit', [`--memlock=${memlock}:${memlock}`, 'setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, ...args], { encoding: 'utf8' });
}

/**
 * `files`: paths (or file: URLs) the body needs to read; `body`: an ES module body that ends by
 * printing one JSON line; `memlock`: the RLIMIT_MEMLOCK it runs with, in bytes (default 0). Needs root (to drop to uid 65534) and util-linux's prlimit and setpriv.
 */
export function runUnprivileged(files: readonly (string | URL)[], body: string, memlock = 0): Unprivileged {
  if (process.getuid?.() !== 0) return { skip: `needs root to drop to uid ${NOBODY} with RLIMIT_MEMLOCK 0` };
  const paths = files.map((f) => (f instanceof URL || f.startsWith('file:') ? fileURLToPath(f) : f));
  const check = asNobody(['-e', `
    const { accessSync, constants } = require('node:fs');
    for (const p of ${JSON.stringify(paths)}) {
      try { accessSync(p, constants.R_OK); } catch (e) { console.log(JSON.stringify({ path: p, code: e.code })); process.exit(0); }
    }
    console.log('{}');`]);
  if (check.error || check.status !== 0)
    return { skip: `prlimit/setpriv cannot run a process as uid ${NOBODY}: ${String(check.error ?? check.stderr).trim()}` };
  const denied = JSON.parse(String(check.stdout).trim() || '{}') as { path?: string; code?: string };
  if (denied.path)
    return { skip: `uid ${NOBODY} cannot read ${denied.path} (${denied.code}): the checkout sits in a directory other users cannot read, so an unprivileged process cannot load ringflow from it` };
  const r = asNobody(['--input-type=module', '-e', body], memlock);
  const line = String(r.stdout).trim().split('\n').pop() ?? '';
  try {
    return { out: JSON.parse(line) };
  } catch {
    throw new Error(`the unprivileged child printed no JSON (status ${r.status}): ${String(r.stdout)}${String(r.stderr)}`);
  }
}
