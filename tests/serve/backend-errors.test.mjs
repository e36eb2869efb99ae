// `maskfill lsp --backend` when the backend fails: the request is answered with an error, the
// status turns to error with the reason and the user gets one message; once the backend is back
// (same address) the next request succeeds and the status is ready again. Uses Microsoft's LSP
// client library from tests/e2e.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { binary, startServer } from './server.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const require = createRequire(path.join(root, 'tests/e2e/package.json'));
const rpc = require('vscode-languageserver-protocol/node');

async function waitFor(predicate, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

let backend = await startServer();
const port = new URL(backend.url).port;
const child = spawn(binary, ['lsp', '--backend', backend.url, '--backend-timeout-ms', '20000', '--log-level', 'error'],
  { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, MASKFILL_MODEL_DIR: '/nonexistent-maskfill-model' } });
const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
const c = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
const statuses = [];
const messages = [];
c.onNotification('maskfill/status', (s) => statuses.push(s));
c.onNotification('window/showMessage', (m) => messages.push(m));
c.onNotification('$/progress', () => {});
c.onRequest('window/workDoneProgress/create', () => null);
c.onRequest('client/registerCapability', () => null);
c.listen();
let failed = 0;
async function check(name, body) {
  try {
    const detail = await body();
    console.log(`ok - ${name}${detail ? ': ' + detail : ''}`);
  } catch (error) {
    failed++;
    console.log(`not ok - ${name}: ${error.stack || error}`);
  }
}

try {
  await c.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  c.sendNotification('initialized', {});
  const uri = 'file:///tmp/unfinished.py';
  const text = fs.readFileSync(path.join(root, 'samples/python/unfinished.py'), 'utf8');
  c.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });
  const complete = () => c.sendRequest('textDocument/inlineCompletion', {
    textDocument: { uri }, position: { line: 16, character: 8 }, context: { triggerKind: 1 },
  });

  await check('with the backend up: ready, the status names it, a completion comes back', async () => {
    await complete();
    const status = await c.sendRequest('maskfill/status', {});
    assert.equal(status.state, 'ready', JSON.stringify(status));
    assert.match(status.model, new RegExp(`^remote: ${backend.url.replace(/[.]/g, '\\.')}`));
    return status.model;
  });

  await check('backend down: the request fails, the status says why, one message', async () => {
    await backend.stop();
    const before = statuses.length;
    await assert.rejects(complete());
    await assert.rejects(complete());
    const status = await c.sendRequest('maskfill/status', {});
    assert.equal(status.state, 'error', JSON.stringify(status));
    assert.match(status.message, /cannot reach the backend/);
    assert.ok(statuses.slice(before).some((s) => s.state === 'error'), 'an error status was pushed');
    const shown = messages.filter((m) => /cannot reach the backend/.test(m.message));
    assert.equal(shown.length, 1, JSON.stringify(messages));
    return status.message;
  });

  await check('backend back on the same address: the next request succeeds and the status is ready', async () => {
    backend = await startServer(['--port', port]);
    assert.equal(new URL(backend.url).port, port);
    const result = await complete();
    assert.ok(Array.isArray(result.items));
    assert.ok(await waitFor(() => statuses.at(-1)?.state === 'ready', 5000), JSON.stringify(statuses.at(-1)));
  });

  await c.sendRequest('shutdown');
  c.sendNotification('exit');
  assert.equal(await exited, 0);
} finally {
  await backend.stop();
  child.kill();
}
console.log(`backend-errors: ${failed ? 'FAILED' : 'passed'}`);
process.exit(failed ? 1 : 0);
