import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  applyInstructionParams, checkFillResult, clientSideCommands, fillParams, parseEditTarget, validateInstruction,
} from '../src/requests';

const range = { start: { line: 3, character: 0 }, end: { line: 9, character: 4 } };

test('editWithInstruction argument is validated', () => {
  assert.deepEqual(parseEditTarget({ uri: 'file:///a.py', range, version: 17, extra: 1 }), { uri: 'file:///a.py', range, version: 17 });
  assert.throws(() => parseEditTarget(undefined), /missing argument/);
  assert.throws(() => parseEditTarget({ range, version: 1 }), /no uri/);
  assert.throws(() => parseEditTarget({ uri: 'file:///a.py', range: { start: { line: -1, character: 0 }, end: range.end }, version: 1 }), /valid range/);
  assert.throws(() => parseEditTarget({ uri: 'file:///a.py', range, version: '3' }), /integer version/);
});

test('applyInstruction carries uri, range, version and the trimmed instruction', () => {
  assert.deepEqual(applyInstructionParams({ uri: 'file:///a.py', range, version: 17 }, '  use a set \n'), {
    command: 'maskfill.applyInstruction',
    arguments: [{ uri: 'file:///a.py', range, version: 17, instruction: 'use a set' }],
  });
  assert.equal(validateInstruction('   '), 'Type what the code should become, e.g. "add error handling"');
  assert.equal(validateInstruction('rename x'), undefined);
});

test('fill params and result checks', () => {
  assert.deepEqual(fillParams('file:///a.py', range), { textDocument: { uri: 'file:///a.py' }, range });
  const edits = [{ range, newText: 'return a + b\n' }];
  assert.deepEqual(checkFillResult({ edits, version: 4 }, 4), edits);
  assert.deepEqual(checkFillResult({ edits: [], version: 4 }, 4), []);
  assert.throws(() => checkFillResult({ edits, version: 4 }, 5), /document changed.*version 4 → 5/);
  assert.throws(() => checkFillResult({ edits: 'x', version: 4 }, 4), /malformed maskfill\/fill result/);
  assert.throws(() => checkFillResult({ edits: [{ range, newText: 3 }], version: 4 }, 4), /malformed TextEdit/);
  assert.throws(() => checkFillResult(null, 4), /malformed/);
});

test('client-side command ids never clash with the server\'s', () => {
  assert.deepEqual(clientSideCommands(['maskfill.fillSelection', 'maskfill.applyInstruction', 'maskfill.didAccept']), {
    register: ['maskfill.editWithInstruction'], conflicts: [],
  });
  assert.deepEqual(clientSideCommands([]), { register: ['maskfill.editWithInstruction', 'maskfill.didAccept'], conflicts: [] });
  assert.deepEqual(clientSideCommands(['maskfill.editWithInstruction', 'maskfill.didAccept']), {
    register: [], conflicts: ['maskfill.editWithInstruction'],
  });
});
