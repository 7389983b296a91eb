/**
 * Does the kernel wake a DEFER_TASKRUN ring's watcher for every completion that waited on poll?
 *
 * A default ('fast') ring is SINGLE_ISSUER | DEFER_TASKRUN: its completion work waits in the
 * kernel until the thread enters the ring, and ringflow learns that work is there from the
 * registered eventfd libuv watches. A request that waits for readiness (a read of an empty pipe or
 * FIFO, a recv, a send into a full socket) is armed on poll; the wakeup that readies it queues its
 * completion work and signals the eventfd.
 *
 * Debian 12's 6.12.117 defers that signal when it comes from a wakeup (through RCU) and sets a bit
 * so that only one deferred signal is pending at a time, but never clears the bit: the first
 * poll-driven completion of a ring is signalled, every later one is not, and JS sleeps until
 * something else makes it enter the ring (seen as readFile of a FIFO and socket sends that never
 * finished). 6.1 and 6.18 signal from the wakeup itself.
 *
 * The probe (native rf_probe_poll_wake_eventfd) asks once per thread, on a private ring, before the
 * first ring that would get DEFER_TASKRUN: costs nothing where the signal comes from the wakeup
 * itself, one RCU grace period and at most ten more where it is deferred. Where signals are lost
 * the default profile falls back to COOP_TASKRUN | TASKRUN_FLAG | SINGLE_ISSUER (the 'coop'
 * profile: completions run as task work that wakes the thread, and the ring fd is watched).
 */
import { binding } from '../native.js';
import { errno, errnoName } from '../errors.js';
import { SetupFlags } from './abi.js';
import { setupFlags, PROFILES, type RingOptions } from './setup.js';

/** What the probe found: every poll-driven completion signalled (true), one lost (false), or why it could not tell. */
export interface PollWakeProbe {
  /** true: signalled; false: a poll-driven completion never reached the eventfd; null: not known (`why`). */
  signalled: boolean | null;
  why?: string;
}

/** Longest wait for a deferred signal (ms): a false "lost" costs the fallback, never correctness. */
const MAX_WAIT_MS = 1000;
let answer: PollWakeProbe | undefined;

/** The kernel's answer (probed on first call, then cached for the thread: the kernel does not change under a process). */
export function pollWakeEventfd(): PollWakeProbe {
  if (answer) return answer;
  const r = binding.probePollWakeEventfd(MAX_WAIT_MS) as number;
  if (r === 0) answer = { signalled: true };
  else if (r === 1) answer = { signalled: false };
  else
    answer = {
      signalled: null,
      why: r === -errno('EINVAL') ? 'no DEFER_TASKRUN (before 6.1)' : r === -errno('EAGAIN') ? 'the probe read did not wait on poll' : `the probe failed (${errnoName(r)})`,
    };
  return answer;
}

/** Whether a DEFER_TASKRUN ring watched through its eventfd would miss poll-driven completions here. */
export function deferTaskrunLosesWakeups(): boolean {
  return pollWakeEventfd().signalled === false;
}

/**
 * The flags a ring's profile gives it on this kernel: where DEFER_TASKRUN would lose wakeups, a
 * profile that would bring it brings the 'coop' flags instead; a ring that asks for it by name
 * (options) keeps it, with one warning per thread. The probe runs only for rings that would get it.
 */
export function profileFlagsHere(options: RingOptions, profileFlags: number): number {
  if (setupFlags(options, 0) & SetupFlags.DEFER_TASKRUN) {
    if (deferTaskrunLosesWakeups()) warnDeferTaskrun();
    return profileFlags;
  }
  return setupFlags(options, profileFlags) & SetupFlags.DEFER_TASKRUN && deferTaskrunLosesWakeups() ? PROFILES.coop : profileFlags;
}

let warned = false;

/** Warns once per thread when a ring was set up with DEFER_TASKRUN by request on a kernel that loses its wakeups. */
function warnDeferTaskrun(): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    'ringflow: this kernel does not signal the eventfd of a DEFER_TASKRUN ring for poll-driven completions after the first ' +
      '(Debian 6.12.117); requests that wait for readiness complete only when the ring is entered again. The default profile avoids DEFER_TASKRUN here.',
    { code: 'RINGFLOW_DEFER_TASKRUN_WAKEUPS' },
  );
}
