/** A process's CPU time from /proc: utime + stime (all its threads), in seconds. */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

let tick: number | undefined;
/** Clock ticks per second (getconf CLK_TCK; 100 on every Linux build we know). */
function clkTck(): number {
  if (tick === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    tick = r.status === 0 && n > 0 ? n : 100;
  }
  return tick;
}

/** utime+stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat), or undefined. */
export function procCpuSeconds(pid: number): number | undefined {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  const ut = Number(f[11]);
  const st = Number(f[12]);
  return Number.isFinite(ut) && Number.isFinite(st) ? (ut + st) / clkTck() : undefined;
}
