/**
 * The contract every benchmark server follows (bench/net/server-*.ts, bench/c/echo_uring.c):
 * started as `<runtime> <file> <port>` (port 0 = any free port), it listens on 127.0.0.1 and
 * prints `ready <port>` on stdout once it accepts connections, then serves until SIGTERM. A server
 * that cannot run here prints `unavailable: <reason>` and exits 3; the harness records the cell as
 * skipped with that reason. Echo servers send back every byte they receive, in order; HTTP servers
 * answer every keep-alive GET with 200 and a short body.
 */

/** The port from argv[2] (0 when absent). */
export function portArg(): number {
  const p = Number(process.argv[2] ?? '0');
  if (!Number.isInteger(p) || p < 0 || p > 65535) {
    process.stderr.write(`bad port "${process.argv[2]}": expected 0..65535\n`);
    process.exit(2);
  }
  return p;
}

export function ready(port: number): void {
  process.stdout.write(`ready ${port}\n`);
}

/** Says why this server cannot run here and exits 3 (the harness records a skip). */
export function unavailable(reason: string): never {
  process.stdout.write(`unavailable: ${reason}\n`);
  process.exit(3);
}

/** The listen backlog for 1000-connection trials (the kernel caps it at net.core.somaxconn). */
export const BACKLOG = 4096;
/** The HTTP servers' response body. */
export const HELLO = 'hello world';
