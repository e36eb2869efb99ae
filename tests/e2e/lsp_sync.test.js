// End-to-end: drives `maskfill lsp` over stdio with Microsoft's vscode-jsonrpc /
// vscode-languageserver-protocol: lifecycle errors, initialize, open, 200 random incremental
// edits checked against the server's copy (text exactly; tree equal to a fresh didOpen of the
// same text), cancellation (-32800) and supersession (-32802), shutdown and exit codes.
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const rpc = require('vscode-languageserver-protocol/node');

const buildDir = process.env.MASKFILL_BUILD_DIR;
if (!buildDir) throw new Error('set MASKFILL_BUILD_DIR to the build folder holding maskfill');
const binary = path.resolve(buildDir, 'maskfill');

function start() {
  const child = spawn(binary, ['lsp', '--enable-test-methods', '--log-level', 'warn'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const connection = rpc.createProtocolConnection(
    new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  connection.listen();
  return { child, connection, exited };
}

async function expectError(promise, code) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.code, code, `expected error ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
}

// A seeded generator so a failure can be replayed.
function rng(seed) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

// Lines split at \r\n, \r or \n, in UTF-16 code units (JS strings are UTF-16: an exact oracle).
function lineStarts(text) {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\r' && text[i + 1] === '\n') { starts.push(i + 2); i++; } else if (text[i] === '\n' || text[i] === '\r') starts.push(i + 1);
  }
  return starts;
}
function lineEnd(text, starts, line) {
  let end = line + 1 < starts.length ? starts[line + 1] : text.length;
  if (end > starts[line] && text[end - 1] === '\n') end--;
  if (end > starts[line] && text[end - 1] === '\r') end--;
  return end;
}
function offsetAt(text, position) {
  const starts = lineStarts(text);
  if (position.line >= starts.length) return text.length;
  return Math.min(starts[position.line] + position.character, lineEnd(text, starts, position.line));
}
function randomPosition(random, text) {
  const starts = lineStarts(text);
  const line = Math.floor(random() * (starts.length + 1));
  if (line >= starts.length) return { line, character: Math.floor(random() * 3) };
  const length = lineEnd(text, starts, line) - starts[line];
  let character = Math.floor(random() * (length + 3));  // sometimes past the end: clamped
  const code = text.charCodeAt(starts[line] + character);
  if (character < length && code >= 0xdc00 && code <= 0xdfff) character--;  // never split a pair
  return { line, character };
}
function before(a, b) { return a.line < b.line || (a.line === b.line && a.character <= b.character); }

const SNIPPETS = ['', 'x', ' ', '\n', '\r\n', '    ', '(', ')', ':', '[1, 2]', '"', '#', 'é', '😀', '𝔘𝔫𝔦',
  'def g(a):\n    return a\n', 'if x:\n    pass\n', 'class K:\n    y = 1\n', 'for i in range(3):\n'];
const INITIAL = 'import os\r\n\r\ndef main():\n    s = "héllo 😀"\n    return s\n';

async function debugDocument(connection, uri) {
  return connection.sendRequest('maskfill/debugDocument', { uri });
}

async function checkAgainstFreshOpen(connection, uri, expected, version, freshUri) {
  const server = await debugDocument(connection, uri);
  assert.equal(server.text, expected, `text differs at version ${version}`);
  assert.equal(server.version, version);
  connection.sendNotification(rpc.DidOpenTextDocumentNotification.type, {
    textDocument: { uri: freshUri, languageId: 'python', version: 1, text: expected } });
  const fresh = await debugDocument(connection, freshUri);
  connection.sendNotification(rpc.DidCloseTextDocumentNotification.type, { textDocument: { uri: freshUri } });
  assert.equal(fresh.text, expected);
  assert.ok(server.tree.startsWith('(module'), server.tree.slice(0, 80));
  assert.equal(server.tree, fresh.tree, `incremental tree differs from a fresh parse at version ${version}`);
}

async function syncSession() {
  const { connection, exited } = start();
  await expectError(debugDocument(connection, 'file:///early.py'), -32002);
  const init = await connection.sendRequest(rpc.InitializeRequest.type, {
    processId: process.pid, rootUri: null, capabilities: { general: { positionEncodings: ['utf-16'] } } });
  assert.equal(init.capabilities.positionEncoding, 'utf-16');
  assert.equal(init.capabilities.textDocumentSync.change, rpc.TextDocumentSyncKind.Incremental);
  connection.sendNotification(rpc.InitializedNotification.type, {});
  connection.sendNotification('$/unknownExtension', { anything: true });  // must be ignored
  await expectError(connection.sendRequest('maskfill/noSuchMethod', {}), -32601);

  const uri = 'file:///e2e/sync.py';
  let text = INITIAL;
  connection.sendNotification(rpc.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'python', version: 1, text } });
  const random = rng(42);
  let version = 1;
  for (let edit = 0; edit < 200; edit++) {
    const changes = [];
    const count = 1 + Math.floor(random() * 2);
    for (let k = 0; k < count; k++) {
      let start = randomPosition(random, text);
      let end = randomPosition(random, text);
      if (!before(start, end)) [start, end] = [end, start];
      const insert = SNIPPETS[Math.floor(random() * SNIPPETS.length)];
      changes.push({ range: { start, end }, text: insert });
      text = text.slice(0, offsetAt(text, start)) + insert + text.slice(offsetAt(text, end));
    }
    connection.sendNotification(rpc.DidChangeTextDocumentNotification.type,
      { textDocument: { uri, version: ++version }, contentChanges: changes });
    if (edit % 50 === 49) await checkAgainstFreshOpen(connection, uri, text, version, `file:///e2e/fresh-${edit}.py`);
  }
  await checkAgainstFreshOpen(connection, uri, text, version, 'file:///e2e/fresh-final.py');

  // Cancellation over the wire: a queued and a running worker request, then supersession.
  const source = new rpc.CancellationTokenSource();
  const slow = connection.sendRequest('maskfill/debugWait', { ms: 10000, uri: 'a' }, source.token);
  const started = Date.now();
  setTimeout(() => source.cancel(), 50);
  await expectError(slow, rpc.LSPErrorCodes.RequestCancelled);
  // Idle: ~50 ms (the cancel is sent after 50 ms). The bound is generous so that load cannot
  // fail it; what it only has to tell apart is "cancelled" from "ran its 10 s".
  const cancelMs = Date.now() - started;
  assert.ok(cancelMs < 8000, `cancellation took ${cancelMs} ms (bound 8000 ms)`);
  console.log(`  cancellation answered after ${cancelMs} ms (bound 8000 ms)`);
  const older = connection.sendRequest('maskfill/debugWait', { ms: 10000, uri: 'b' });
  const newer = connection.sendRequest('maskfill/debugWait', { ms: 10, uri: 'b' });
  // Superseded by the server, not cancelled by the client: -32802, never -32800.
  await expectError(older, rpc.LSPErrorCodes.ServerCancelled);
  const result = await newer;
  assert.ok(result.waitedMs >= 10);

  assert.equal(await connection.sendRequest(rpc.ShutdownRequest.type), null);
  await expectError(debugDocument(connection, uri), -32600);
  connection.sendNotification(rpc.ExitNotification.type);
  assert.equal(await exited, 0, 'exit after shutdown must exit with 0');
  connection.dispose();
}

async function exitWithoutShutdown() {
  const { connection, exited } = start();
  await connection.sendRequest(rpc.InitializeRequest.type, { processId: null, rootUri: null, capabilities: {} });
  connection.sendNotification(rpc.ExitNotification.type);
  assert.equal(await exited, 1, 'exit without shutdown must exit with 1');
  connection.dispose();
}

async function endOfInput() {
  const { child, exited } = start();
  child.stdin.end();
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000).unref())]);
  assert.equal(code, 1, 'closing stdin must end the server (exit 1 without shutdown)');
}


// --listen: one loopback TCP client, same protocol; non-loopback addresses are refused.
async function tcpSession() {
  const child = spawn(binary, ['lsp', '--listen', '127.0.0.1:0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  let stdout = '';
  child.stdout.on('data', (data) => { stdout += data; });
  const port = await new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (data) => {
      stderr += data;
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', () => reject(new Error(`server exited before listening: ${stderr}`)));
  });
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.on('connect', resolve));
  const connection = rpc.createProtocolConnection(new rpc.SocketMessageReader(socket), new rpc.SocketMessageWriter(socket));
  connection.listen();
  const init = await connection.sendRequest(rpc.InitializeRequest.type, { processId: null, rootUri: null, capabilities: {} });
  assert.equal(init.capabilities.positionEncoding, 'utf-16');
  await connection.sendRequest(rpc.ShutdownRequest.type);
  connection.sendNotification(rpc.ExitNotification.type);
  assert.equal(await exited, 0);
  assert.equal(stdout, '', 'nothing may be written to stdout');
  connection.dispose();
  socket.destroy();

  const remote = spawn(binary, ['lsp', '--listen', '192.0.2.1:7000'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let message = '';
  remote.stderr.on('data', (data) => { message += data; });
  assert.equal(await new Promise((resolve) => remote.on('exit', resolve)), 1);
  assert.match(message, /refusing to listen on non-loopback address/);
}

(async () => {
  for (const [name, test] of [['sync, cancellation, shutdown', syncSession],
    ['exit without shutdown', exitWithoutShutdown], ['end of input', endOfInput], ['tcp', tcpSession]]) {
    const started = Date.now();
    await test();
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  }
})().catch((error) => {
  console.error('not ok -', error);
  process.exit(1);
});
