/**
 * Bun keep-alive "hello world" responder (`Bun.serve`), run by the bun binary. Contract:
 * serve-cli.ts (no imports here: this file runs under Bun).
 */
export {};

declare const Bun: any;

const port = Number(process.argv[2] ?? '0');
const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  fetch() {
    return new Response('hello world', { headers: { 'content-type': 'text/plain' } });
  },
});
process.stdout.write(`ready ${server.port}\n`);
process.on('SIGTERM', () => process.exit(0));
