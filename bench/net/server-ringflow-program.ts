/**
 * Slot: ringflow TCP echo served by a completion program (issue 11, "programs that serve
 * connections": the echo pattern, no JS wakeup per message). Started like every other server
 * (contract: serve-cli.ts): `node dist/bench/net/server-ringflow-program.js <port>`.
 *
 * Until program socket ops exist this stub says so and the cell is recorded as skipped.
 */
import { unavailable } from './serve-cli.js';

unavailable('completion programs cannot submit socket ops yet (issue 11): bench/net/server-ringflow-program.ts is a slot for the program echo server');
