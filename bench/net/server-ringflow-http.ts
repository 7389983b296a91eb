/**
 * Slot: ringflow's minimal keep-alive HTTP/1.1 responder (issue 11, examples). Started like every
 * other server (contract: serve-cli.ts): `node dist/bench/net/server-ringflow-http.js <port>`; it
 * must answer each keep-alive `GET /` with 200 and a short body ("hello world").
 *
 * Until the sockets API exists this stub says so and the cell is recorded as skipped.
 */
import { unavailable } from './serve-cli.js';

unavailable("ringflow's HTTP responder (issue 11) is not built yet: bench/net/server-ringflow-http.ts is a slot for it");
