import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  applyEditsToText, applyInstructionParams, checkFillResult, commandHandling, editParams, fillParams, parseEditTarget, validateInstruction,
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

test('server commands: prompt for a missing instruction, progress for model work, the rest as is', () => {
  const target = { uri: 'file:///a.py', range, version: 3 };
  assert.equal(commandHandling('maskfill.editWithInstruction', [target]), 'prompt');
  assert.equal(commandHandling('maskfill.editWithInstruction', [{ ...target, instruction: '  ' }]), 'prompt');
  assert.equal(commandHandling('maskfill.editWithInstruction', [{ ...target, instruction: 'use a set' }]), 'progress');
  assert.equal(commandHandling('maskfill.editWithInstruction', []), 'prompt');
  assert.equal(commandHandling('maskfill.fillSelection', [target]), 'progress');
  assert.equal(commandHandling('maskfill.applyInstruction', [target]), 'progress');
  assert.equal(commandHandling('maskfill.didAccept', [{ id: 1 }]), 'send');
  assert.equal(commandHandling('maskfill.reload', []), 'send');
  assert.deepEqual(editParams(target, ' use a set\n'), { textDocument: { uri: 'file:///a.py' }, range, instruction: 'use a set' });
});

test('the diff preview applies the edits like the editor will', () => {
  const text = 'def f(xs):\n    total = 0\n    return total\n';
  const at = (l1: number, c1: number, l2: number, c2: number) => ({ start: { line: l1, character: c1 }, end: { line: l2, character: c2 } });
  assert.equal(applyEditsToText(text, []), text);
  assert.equal(applyEditsToText(text, [{ range: at(1, 12, 1, 13), newText: 'sum(xs)' }]), 'def f(xs):\n    total = sum(xs)\n    return total\n');
  assert.equal(applyEditsToText(text, [
    { range: at(2, 11, 2, 16), newText: 'total / len(xs)' },
    { range: at(0, 0, 0, 3), newText: 'async def' },
  ]), 'async def f(xs):\n    total = 0\n    return total / len(xs)\n');
  assert.equal(applyEditsToText('é😀x\n', [{ range: at(0, 3, 0, 4), newText: 'y' }]), 'é😀y\n'); // UTF-16 units
  assert.equal(applyEditsToText('ab', [{ range: at(5, 0, 5, 0), newText: '!' }]), 'ab!'); // past the end: appended
});
