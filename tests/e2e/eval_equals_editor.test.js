// The eval measures what an editor user gets: `maskfill eval infill --report` records, per task,
// the document and cursor it completed at and the text it inserted; the real server, driven by
// Microsoft's vscode-languageserver-protocol client, must answer textDocument/inlineCompletion
// (Automatic trigger) at the same place with byte-identical text.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const rpc = require('vscode-languageserver-protocol/node');

const binary = path.resolve(process.env.MASKFILL_BUILD_DIR, 'maskfill');
const root = path.resolve(__dirname, '../..');
const perFile = Number(process.env.MASKFILL_EVAL_EQ_TASKS || 8);

function utf16Position(text, offset) {
  const before = Buffer.from(text, 'utf8').subarray(0, offset).toString('utf8');
  const lines = before.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskfill-eval-eq-'));
  const report = path.join(dir, 'report.jsonl');
  execFileSync(binary, ['eval', 'infill', '--tasks', path.join(root, 'samples/eval/single-line.jsonl'),
    path.join(root, 'samples/eval/multi-line.jsonl'), '--limit', String(perFile), '--report', report],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  const tasks = fs.readFileSync(report, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(tasks.length, 2 * perFile);

  const child = spawn(binary, ['lsp', '--log-level', 'warn'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const c = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  for (const method of ['window/workDoneProgress/create', 'client/registerCapability', 'client/unregisterCapability'])
    c.onRequest(method, () => null);
  c.onNotification(() => {});
  c.listen();
  await c.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  c.sendNotification('initialized', {});

  let same = 0, nonEmpty = 0;
  for (const [i, task] of tasks.entries()) {
    const uri = `file:///tmp/eval-eq-${i}.py`;
    c.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text: task.document } });
    const answer = await c.sendRequest('textDocument/inlineCompletion', {
      textDocument: { uri }, position: utf16Position(task.document, task.cursor), context: { triggerKind: 2 },
    });
    const items = Array.isArray(answer) ? answer : (answer ? answer.items : []);
    const served = items.length ? items[0].insertText : '';
    const text = typeof served === 'string' ? served : served.value;
    if (text === task.insert_text) same++;
    else console.log(`not equal - ${task.task_id}\n  eval:   ${JSON.stringify(task.insert_text)}\n  server: ${JSON.stringify(text)}`);
    if (text) nonEmpty++;
    c.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }
  await c.sendRequest('shutdown');
  c.sendNotification('exit');
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`eval = editor: ${same}/${tasks.length} identical (${nonEmpty} non-empty)`);
  assert.equal(same, tasks.length, 'the eval and the server must insert the same text');
  assert.ok(nonEmpty > 0, 'at least one completion is non-empty (the comparison is not vacuous)');
}

main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
