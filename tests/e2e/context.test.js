// Cross-file context end to end, through the real server with Microsoft's
// vscode-languageserver-protocol client: a workspace where `parse_config` is defined only in
// another file, the prompt logged at trace level must hold its definition; a file created on disk
// and reported by didChangeWatchedFiles joins the index; the status counts the snippets. The same
// workspace holds the hostile cases (a symlink loop, an unreadable file, a 50 MB file, 200,000
// files): each gets a log line and none blocks a completion.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const rpc = require('vscode-languageserver-protocol/node');

const binary = path.resolve(process.env.MASKFILL_BUILD_DIR, 'maskfill');
const { check, waitFor, results } = require('./checks');

function makeWorkspace() {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'maskfill-ctx-')));
  fs.mkdirSync(path.join(ws, 'app'));
  fs.writeFileSync(path.join(ws, 'app/config.py'),
    'import json\n\ndef parse_config(path, *, strict=False):\n    """Reads the settings file."""\n' +
    '    with open(path) as handle:\n        return json.load(handle)\n');
  fs.writeFileSync(path.join(ws, 'app/main.py'), 'def main():\n    settings = parse_config(\n');
  // Hostile cases.
  fs.symlinkSync(path.join(ws, 'app'), path.join(ws, 'app/loop'));
  fs.writeFileSync(path.join(ws, 'locked.py'), 'def locked(): pass\n');
  fs.chmodSync(path.join(ws, 'locked.py'), 0);
  fs.writeFileSync(path.join(ws, 'huge.py'), 'x = 1\n'.repeat(50 * 1024 * 1024 / 6));
  const many = path.join(ws, 'many');
  fs.mkdirSync(many);
  // 200,000 files in 200 folders: the walk stops at the index's 20,000-file cap.
  for (let d = 0; d < 200; d++) {
    const folder = path.join(many, `d${d}`);
    fs.mkdirSync(folder);
    for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(folder, `m${i}.py`), `def f${d}_${i}(): pass\n`);
  }
  return ws;
}

async function main() {
  const ws = makeWorkspace();
  const child = spawn(binary, ['lsp', '--log-level', 'trace'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk.toString(); });
  const c = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const statuses = [];
  const registrations = [];
  c.onNotification('maskfill/status', (s) => statuses.push(s));
  c.onNotification('window/showMessage', () => {});
  c.onRequest('client/registerCapability', (params) => { registrations.push(...params.registrations); return null; });
  c.onRequest('client/unregisterCapability', () => null);
  c.listen();
  const rootUri = `file://${ws}`;
  await c.sendRequest('initialize', {
    processId: process.pid, rootUri, workspaceFolders: [{ uri: rootUri, name: 'ws' }],
    capabilities: { workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } },
  });
  c.sendNotification('initialized', {});
  const uri = `${rootUri}/app/main.py`;
  const text = fs.readFileSync(path.join(ws, 'app/main.py'), 'utf8');
  c.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });
  const complete = () => c.sendRequest('textDocument/inlineCompletion', {
    textDocument: { uri }, position: { line: 1, character: 28 }, context: { triggerKind: 1 },
  });

  await check('the hostile workspace is indexed without blocking: each case logged', async () => {
    assert.ok(await waitFor(() => /workspace index: \d+ files/.test(log), 120000), 'the index never finished');
    assert.match(log, /stopped at 20000 files/);
    assert.match(log, /skipped .*huge\.py: its \d+ KiB are over/);
    if (process.getuid() !== 0) assert.match(log, /skipped .*locked\.py/);
    assert.ok(registrations.some((r) => r.method === 'workspace/didChangeWatchedFiles'), 'no file watcher registered');
    return log.match(/workspace index: [^\n]*/)[0];
  });

  await check('a name defined only in another file: its definition is in the prompt', async () => {
    log = '';
    await complete();
    const prompt = log.slice(log.indexOf('prompt ('));
    assert.ok(prompt.includes('# Path: app/config.py\ndef parse_config(path, *, strict=False):'), prompt.slice(0, 400));
    const status = await c.sendRequest('maskfill/status', {});
    assert.ok(status.context.snippets >= 1, JSON.stringify(status));
    return `status context ${JSON.stringify(status.context)}`;
  });

  await check('a file created on disk joins the index through didChangeWatchedFiles', async () => {
    fs.writeFileSync(path.join(ws, 'app/loader.py'), 'def load_settings(name, fallback=None):\n    return fallback\n');
    c.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: `${rootUri}/app/loader.py`, type: 1 }] });
    const edited = 'def main():\n    settings = load_settings(\n';
    c.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: edited }] });
    const found = await waitFor(async () => {
      log = '';
      await complete();
      return log.includes('def load_settings(name, fallback=None):');
    }, 30000);
    assert.ok(found, 'the new definition never reached the prompt');
  });

  await check('context.maxTokens 0: the prompt is the file window only', async () => {
    c.sendNotification('workspace/didChangeConfiguration', { settings: { maskfill: { context: { maxTokens: 0 } } } });
    log = '';
    await complete();
    const prompt = log.slice(log.indexOf('prompt ('));
    assert.ok(!prompt.includes('# Path:'), prompt.slice(0, 300));
  });

  await c.sendRequest('shutdown');
  c.sendNotification('exit');
  await new Promise((resolve) => child.on('exit', resolve));
  fs.chmodSync(path.join(ws, 'locked.py'), 0o600);
  fs.rmSync(ws, { recursive: true, force: true });
  const passed = results.filter(Boolean).length;
  console.log(`context: ${passed}/${results.length} passed`);
  process.exit(passed === results.length ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
