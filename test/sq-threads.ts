/**
 * Finding the SQ threads of SQPOLL rings without fdinfo: /proc/self/fdinfo/<ring>'s SqThread is -1
 * on 6.1 whenever the thread holds its sq_data lock (while it polls), so tests look at this
 * process's threads instead. An SQ thread names itself "iou-sqp-<pid>" when it starts running
 * (io_uring/sqpoll.c io_sq_thread, 5.12+), so it has its name once a request it submitted completed.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The tids of this process's threads named iou-sqp-* (threads that exit while listed are left out). */
export function sqThreads(): Set<number> {
  const out = new Set<number>();
  for (const tid of readdirSync('/proc/self/task')) {
    let comm: string;
    try {
      comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8');
    } catch {
      continue; // it exited
    }
    if (comm.startsWith('iou-sqp-')) out.add(Number(tid));
  }
  return out;
}

/** The SQ threads that are here now and were not in `before` (sorted). */
export function newSqThreads(before: Set<number>): number[] {
  return [...sqThreads()].filter((tid) => !before.has(tid)).sort((a, b) => a - b);
}
