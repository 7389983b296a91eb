/** The ring/fallback table of ringflow/fs covers the whole surface, and docs/fs.md shows it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as nodeFsp from 'node:fs/promises';
import { BACKENDS, backendTableMarkdown } from '../src/fs/fallbacks.js';
import { FileHandle } from '../src/fs/file-handle.js';

const root = new URL('../../', import.meta.url);

test('docs/fs.md shows the BACKENDS table as it is in src/fs/fallbacks.ts', () => {
  const doc = readFileSync(new URL('docs/fs.md', root), 'utf8');
  assert.ok(doc.includes(backendTableMarkdown()), 'regenerate the table in docs/fs.md from backendTableMarkdown()');
});

test('every function of node:fs/promises and every FileHandle method is in the table', async () => {
  const nodeKeys = Object.keys((nodeFsp as unknown as { default: object }).default).filter((k) => k !== 'constants');
  for (const k of nodeKeys) assert.ok(Object.hasOwn(BACKENDS, k), `BACKENDS lacks ${k}`);
  const fh = await nodeFsp.open('/dev/null');
  try {
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(fh)).filter((m) => m !== 'constructor' && m !== 'getAsyncId' && m !== 'fd');
    for (const m of [...methods, 'close']) {
      assert.ok(Object.hasOwn(BACKENDS, `FileHandle.${m}`), `BACKENDS lacks FileHandle.${m}`);
      assert.ok(m === 'close' || typeof (FileHandle.prototype as unknown as Record<string, unknown>)[m] === 'function', `ringflow's FileHandle lacks ${m}`);
    }
  } finally {
    await fh.close();
  }
});
