/**
 * Slot: ringflow TCP echo server written in JS on ringflow's sockets API (issue 11: multishot
 * accept, multishot recv from a BufferGroup, send of what arrived). The harness starts it like
 * every other server (contract: serve-cli.ts): `node dist/bench/net/server-ringflow-js.js <port>`,
 * pinned to its own core; it must print `ready <port>` and echo every byte in order.
 *
 * Until the sockets API exists this stub says so and the cell is recorded as skipped.
 */
import { unavailable } from './serve-cli.js';

unavailable("ringflow's sockets API (issue 11) is not built yet: bench/net/server-ringflow-js.ts is a slot for its echo server");
