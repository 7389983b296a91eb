/** FileHandle streams of ringflow/fs (the simple ones: node's streams over ring reads/writes). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile as nodeReadFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import fs from '../src/fs/index.js';

test('createWriteStream, createReadStream (start/end), readLines, readableWebStream', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rf-fs-streams-'));
  try {
    const p = join(dir, 'lines');
    const w = await fs.open(p, 'w');
    const ws = w.createWriteStream();
    for (let i = 0; i < 1000; i++) ws.write(`line ${i}\n`);
    await new Promise<void>((resolve, reject) => ws.end(() => resolve()).once('error', reject));
    assert.equal(w.fd, -1, 'autoClose closed the handle');
    const expected = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join('');
    assert.equal(await nodeReadFile(p, 'utf8'), expected);

    const r = await fs.open(p);
    assert.equal(await text(r.createReadStream({ start: 5, end: 10 })), expected.slice(5, 11));

    const l = await fs.open(p);
    const lines: string[] = [];
    for await (const line of l.readLines()) lines.push(line);
    assert.equal(lines.length, 1000);
    assert.equal(lines[999], 'line 999');

    await using h = await fs.open(p);
    const chunks: Uint8Array[] = [];
    for await (const c of h.readableWebStream() as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    assert.equal(Buffer.concat(chunks).toString(), expected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
