// End-to-end editing features with the bundled tiny model, through Microsoft's
// vscode-languageserver-protocol client over stdio: status and loading, an inline completion
// whose insertion keeps the file parseable, a fill-selection round trip (workspace/applyEdit
// with a versioned documentChanges), an instruction edit round trip, a stale version refused
// (-32801), maskfill/fill, and a cancellation during denoising answered -32800.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const rpc = require('vscode-languageserver-protocol/node');

const binary = path.resolve(process.env.MASKFILL_BUILD_DIR, 'maskfill');
const root = path.resolve(__dirname, '../..');
const { check, waitFor, results } = require('./checks');

function start(capabilities) {
  const child = spawn(binary, ['lsp', '--enable-test-methods', '--log-level', 'warn'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const connection = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const statuses = [];
  const applied = [];
  let documents = {};
  connection.onNotification('maskfill/status', (s) => statuses.push(s));
  connection.onNotification('window/showMessage', () => {});
  connection.onNotification('$/progress', () => {});
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onRequest('client/registerCapability', () => null);
  connection.onRequest('client/unregisterCapability', () => null);
  connection.onRequest('workspace/applyEdit', (params) => {
    applied.push(params);
    return { applied: true };
  });
  connection.listen();
  return { child, connection, exited, statuses, applied, capabilities };
}

function applyEdits(text, edits) {
  // Edits are non-overlapping; apply from the end (positions are UTF-16 like JS strings).
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const offset = (p) => Math.min(starts[p.line] + p.character, text.length);
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  for (const e of sorted) text = text.slice(0, offset(e.range.start)) + e.newText + text.slice(offset(e.range.end));
  return text;
}

async function main() {
  const s = start();
  const c = s.connection;
  const init = await c.sendRequest('initialize', {
    processId: process.pid, rootUri: null,
    capabilities: { window: { workDoneProgress: true }, workspace: { applyEdit: true, workspaceEdit: { documentChanges: true } } },
  });
  assert.ok(init.capabilities.inlineCompletionProvider, 'static inline completion for clients without dynamic registration');
  assert.deepEqual(init.capabilities.executeCommandProvider.commands.sort(),
    ['maskfill.applyInstruction', 'maskfill.didAccept', 'maskfill.didAcceptNextEdit', 'maskfill.editWithInstruction', 'maskfill.fillSelection', 'maskfill.reload']);
  c.sendNotification('initialized', {});
  const uri = 'file:///tmp/unfinished.py';
  let text = fs.readFileSync(path.join(root, 'samples/python/unfinished.py'), 'utf8');
  let version = 1;
  c.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version, text } });

  await check('the model loads and maskfill/status reports ready', async () => {
    assert.ok(await waitFor(() => s.statuses.some((x) => x.state === 'ready' || x.state === 'error'), 120000), 'no status');
    const status = await c.sendRequest('maskfill/status', {});
    assert.equal(status.state, 'ready', JSON.stringify(status));
    return status.model;
  });

  await check('inline completion in an empty loop body; the inserted text parses', async () => {
    const result = await c.sendRequest('textDocument/inlineCompletion', {
      textDocument: { uri }, position: { line: 16, character: 8 }, context: { triggerKind: 1 },
    });
    assert.ok(result.items.length >= 1, 'no items');
    const item = result.items[0];
    assert.equal(item.command.command, 'maskfill.didAccept');
    const completed = applyEdits(text, [{ range: item.range, newText: item.insertText }]);
    version++;
    c.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text: completed }] });
    text = completed;
    const debug = await c.sendRequest('maskfill/debugDocument', { uri });
    assert.equal(debug.text, text);
    await c.sendRequest('workspace/executeCommand', item.command);
    const status = await c.sendRequest('maskfill/status', {});
    assert.equal(status.accepted, 1);
    return `${JSON.stringify(item.insertText.slice(0, 60))}, tree has ERROR: ${debug.tree.includes('ERROR')}`;
  });

  await check('code actions list fill and edit without running the model', async () => {
    const actions = await c.sendRequest('textDocument/codeAction', {
      textDocument: { uri }, range: { start: { line: 4, character: 0 }, end: { line: 5, character: 0 } }, context: { diagnostics: [] },
    });
    assert.deepEqual(actions.map((a) => a.command.command), ['maskfill.fillSelection', 'maskfill.editWithInstruction']);
    assert.equal(actions[0].command.arguments[0].version, version);
  });

  await check('fill selection: workspace/applyEdit with a versioned documentChanges, applied', async () => {
    const range = { start: { line: 4, character: 0 }, end: { line: 5, character: 0 } };
    const before = s.applied.length;
    await c.sendRequest('workspace/executeCommand', { command: 'maskfill.fillSelection', arguments: [{ uri, range, version }] });
    assert.equal(s.applied.length, before + 1, 'applyEdit must come before the answer');
    const change = s.applied[before].edit.documentChanges[0];
    assert.deepEqual(change.textDocument, { uri, version });
    text = applyEdits(text, change.edits);
    version++;
    c.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return `${change.edits.length} edit(s)`;
  });

  await check('instruction edit round trip', async () => {
    const range = { start: { line: 6, character: 0 }, end: { line: 11, character: 0 } };
    const before = s.applied.length;
    await c.sendRequest('workspace/executeCommand', {
      command: 'maskfill.applyInstruction', arguments: [{ uri, range, version, instruction: 'Add a docstring.' }],
    });
    assert.equal(s.applied.length, before + 1);
    const change = s.applied[before].edit.documentChanges[0];
    assert.equal(change.textDocument.version, version);
    text = applyEdits(text, change.edits);
    version++;
    c.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    const debug = await c.sendRequest('maskfill/debugDocument', { uri });
    assert.equal(debug.text, text);
  });

  await check('a stale version is refused with -32801 and nothing is applied', async () => {
    const before = s.applied.length;
    const range = { start: { line: 4, character: 0 }, end: { line: 5, character: 0 } };
    await assert.rejects(c.sendRequest('workspace/executeCommand', {
      command: 'maskfill.fillSelection', arguments: [{ uri, range, version: version - 1 }],
    }), (e) => e.code === -32801);
    assert.equal(s.applied.length, before);
  });

  await check('maskfill/fill returns edits without applying them', async () => {
    const before = s.applied.length;
    const result = await c.sendRequest('maskfill/fill', { textDocument: { uri }, range: { start: { line: 4, character: 0 }, end: { line: 5, character: 0 } } });
    assert.equal(result.version, version);
    assert.ok(Array.isArray(result.edits));
    assert.equal(s.applied.length, before);
  });

  await check('cancellation during denoising answers -32800', async () => {
    const token = new rpc.CancellationTokenSource();
    const pending = c.sendRequest('textDocument/inlineCompletion', {
      textDocument: { uri }, position: { line: 16, character: 8 }, context: { triggerKind: 1 },
    }, token.token);
    setTimeout(() => token.cancel(), 15);
    await assert.rejects(pending, (e) => e.code === -32800);
  });

  await check('shutdown and exit', async () => {
    await c.sendRequest('shutdown');
    c.sendNotification('exit');
    assert.equal(await s.exited, 0);
  });
  const failed = results.filter((r) => !r).length;
  console.log(`features: ${results.length - failed}/${results.length} passed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
