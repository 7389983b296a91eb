// Short fuzz run inside npm test (npm run fuzz runs 1,000,000 cases).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz } from '../../tools/fuzz.js';

test('fuzz: 20,000 random and mutated programs, every outcome a ProgramError or a status', () => {
  const s = fuzz(20000, 12345);
  assert.equal(s.cases, 20000);
  assert.ok(s.rejected > 1000, `rejected ${s.rejected}`);
  assert.ok(s.ok + s.budget + s.memfault + s.calldepth + s.badinsn + s.helper + s.createRejected + s.rejected <= s.cases);
});
