// `maskfill lsp --backend URL --model DIR` against a server that is not `maskfill serve` as far
// as the language server can tell: `maskfill serve --no-maskfill-endpoints` answers 404 on
// /v1/maskfill/*, like vLLM or SGLang. The language server must read the tokenizer from the local
// snapshot, send text prompts (prompt + suffix; the SPM prompt spelled out with
// --backend-prompt spm) and still complete; without a snapshot it must say what to set. The
// server's access log (--log-prompts) shows what it received. Uses Microsoft's LSP client
// library from tests/e2e.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { binary, startServer } from './server.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const require = createRequire(path.join(root, 'tests/e2e/package.json'));
const rpc = require('vscode-languageserver-protocol/node');
const model = path.join(root, 'models/maskfill-tiny');

const backend = await startServer(['--no-maskfill-endpoints', '--log-prompts', '--log-level', 'info']);
let log = '';
backend.child.stderr.on('data', (chunk) => { log += chunk; });
// The /v1/completions bodies the server logged since `from`.
const bodies = (from) => [...log.slice(from).matchAll(/POST \/v1\/completions body: (.*)/g)].map((m) => JSON.parse(m[1]));

// One language server session: initialize, open the sample, run `body(connection)`, shut down.
async function session(args, body) {
  const child = spawn(binary, ['lsp', '--backend', backend.url, ...args, '--log-level', 'error'],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, MASKFILL_MODEL_DIR: '/nonexistent-maskfill-model' } });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const c = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  c.onNotification('maskfill/status', () => {});
  c.onNotification('window/showMessage', () => {});
  c.onNotification('$/progress', () => {});
  c.onRequest('window/workDoneProgress/create', () => null);
  c.onRequest('client/registerCapability', () => null);
  c.listen();
  try {
    await c.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    c.sendNotification('initialized', {});
    const uri = 'file:///tmp/unfinished.py';
    const text = fs.readFileSync(path.join(root, 'samples/python/unfinished.py'), 'utf8');
    c.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });
    return await body(c, uri);
  } finally {
    await c.sendRequest('shutdown').catch(() => {});
    c.sendNotification('exit');
    assert.equal(await exited, 0);
  }
}

const complete = (c, uri) => c.sendRequest('textDocument/inlineCompletion', {
  textDocument: { uri }, position: { line: 16, character: 8 }, context: { triggerKind: 1 },
});

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
  await check('auto: tokenizer from --model, text prompt + suffix, a completion comes back', async () => {
    const from = log.length;
    const { result, status } = await session(['--model', model], async (c, uri) =>
      ({ result: await complete(c, uri), status: await c.sendRequest('maskfill/status', {}) }));
    assert.equal(status.state, 'ready', JSON.stringify(status));
    assert.match(status.model, /^remote: http:\/\/127\.0\.0\.1:\d+ \(.*; text prompts with suffix\)$/);
    assert.ok(result.items.length > 0, 'a completion arrives');
    const sent = bodies(from);
    assert.ok(sent.length > 0, 'the server received completions');
    for (const body of sent) {
      assert.equal(typeof body.prompt, 'string');
      assert.equal(typeof body.suffix, 'string');
      assert.match(body.prompt, /for word in text\.split\(\):\n {8}$/);
      for (const field of ['return_token_ids', 'gen_length', 'threshold', 'remasking', 'ignore_eos']) assert.ok(!(field in body), field);
    }
    return `${sent.length} text requests; "${result.items[0].insertText.split('\n')[0]}"`;
  });

  await check('--backend-prompt spm: the SPM prompt as text, a completion comes back', async () => {
    const from = log.length;
    const result = await session(['--model', model, '--backend-prompt', 'spm'], complete);
    assert.ok(result.items.length > 0, 'a completion arrives');
    const sent = bodies(from);
    assert.ok(sent.length > 0);
    for (const body of sent) {
      assert.ok(!('suffix' in body));
      assert.match(body.prompt, /^<\[fim-suffix\]>[^]*<\[fim-prefix\]>[^]*<\[fim-middle\]>$/);
    }
    return `${sent.length} SPM text requests`;
  });

  await check('no --model: the request fails and the status says to set the model path', async () => {
    const status = await session([], async (c, uri) => {
      await assert.rejects(complete(c, uri));
      return c.sendRequest('maskfill/status', {});
    });
    assert.equal(status.state, 'error');
    assert.match(status.message, /does not serve maskfill's model files; set the model path/);
    return status.message;
  });
} finally {
  await backend.stop();
}
console.log(`generic-backend: ${failed ? 'FAILED' : 'passed'}`);
process.exit(failed ? 1 : 0);
