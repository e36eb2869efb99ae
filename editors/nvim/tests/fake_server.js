#!/usr/bin/env node
// A scripted stand-in for `maskfill lsp`, used only to test the editor clients' own logic
// (debounce, cancellation, ghost text, accept, fill, edit, next edits) deterministically and without a model.
// The real server is exercised by the same suites; this file never replaces it there.
// Answers are fixed strings derived from the request, and every interesting event is recorded;
// the custom request `fake/log` returns the record so tests can assert on what the client sent.
'use strict';

const fs = require('fs');
const path = require('path');
const url = require('url');

const DELAY_MS = Number(process.env.FAKE_DELAY_MS || 300); // simulated denoising time
// FAKE_NO_MODEL=1: behave like a server whose model failed to load (no inline completion).
const NO_MODEL = process.env.FAKE_NO_MODEL === '1';
const STATUS = NO_MODEL ? { state: 'error', message: 'no model at /nowhere' } : { state: 'ready', model: 'fake' };

const docs = new Map(); // uri → {text, version}
const log = [];
const pending = new Map(); // request id → timer of an inline completion in progress
let nextServerId = 1;
const serverRequests = new Map();

function send(message) {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
  process.stdout.write(`Content-Length: ${body.length}\r\n\r\n`);
  process.stdout.write(body);
}

function offsetOf(text, position) {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < position.line && i < lines.length; i++) offset += lines[i].length + 1;
  return offset + position.character; // the test documents are ASCII, so UTF-16 == bytes
}

function applyChange(doc, change) {
  if (!change.range) { doc.text = change.text; return; }
  const start = offsetOf(doc.text, change.range.start);
  const end = offsetOf(doc.text, change.range.end);
  doc.text = doc.text.slice(0, start) + change.text + doc.text.slice(end);
}

function lineAt(uri, line) {
  const doc = docs.get(uri);
  return doc ? (doc.text.split('\n')[line] ?? '') : '';
}

function inlineItems(params) {
  const { line, character } = params.position;
  const prefix = lineAt(params.textDocument.uri, line).slice(0, character);
  const word = (prefix.match(/[A-Za-z_]\w*$/) || [''])[0];
  const at = { line, character };
  const item = (text, id) => ({
    insertText: text,
    range: { start: at, end: at },
    command: { title: 'accepted', command: 'maskfill.didAccept', arguments: [{ id }] },
  });
  // Automatic: one multi-line item (exercises virt_lines); Invoked: two items to cycle through.
  if (params.context && params.context.triggerKind === 1) {
    return { items: [item(`_first(${word})`, 'inv-1'), item(`_second(${word})`, 'inv-2')] };
  }
  return { items: [item(`_ghost(${word})\nnext_line = 1`, 'auto-1')] };
}

// Next edits: every `total` becomes `acc` (the fake's one "rename"), in the document asked about
// and, naming their textDocument, in the other open ones; nearest first is not modelled; ids are
// strings as the real server's are.
let nextEditId = 1;
function totals(text, extra) {
  const edits = [];
  text.split('\n').forEach((line, row) => {
    for (const m of line.matchAll(/\btotal\b/g)) {
      edits.push({ range: { start: { line: row, character: m.index }, end: { line: row, character: m.index + 5 } },
        newText: 'acc', id: String(nextEditId++), ...extra });
    }
  });
  return edits;
}
// A workspace folder holding a file `.fake-disk-edits` also gets the `total`s of its files that
// are not open (top level only), as the real server reads them from its index: version null and
// the text the range held.
let workspaceFolder;
function diskTotals() {
  if (!workspaceFolder || !fs.existsSync(path.join(workspaceFolder, '.fake-disk-edits'))) return [];
  const edits = [];
  for (const name of fs.readdirSync(workspaceFolder).sort()) {
    const file = path.join(workspaceFolder, name);
    const uri = url.pathToFileURL(file).href;
    if (name.startsWith('.') || docs.has(uri) || !fs.statSync(file).isFile()) continue;
    edits.push(...totals(fs.readFileSync(file, 'utf8'), { textDocument: { uri, version: null }, oldText: 'total' }));
  }
  return edits;
}
function nextEdits(params) {
  const doc = docs.get(params.textDocument.uri);
  if (!doc) return { edits: [], version: 0 };
  const edits = totals(doc.text, {});
  for (const [uri, other] of docs) {
    if (uri !== params.textDocument.uri) edits.push(...totals(other.text, { textDocument: { uri, version: other.version } }));
  }
  edits.push(...diskTotals());
  return { edits, version: doc.version };
}

function initializeResult() {
  return {
    capabilities: {
      textDocumentSync: { openClose: true, change: 2 },
      inlineCompletionProvider: NO_MODEL ? undefined : true,
      codeActionProvider: { codeActionKinds: ['refactor.rewrite'] },
      executeCommandProvider: { commands: ['maskfill.fillSelection', 'maskfill.applyInstruction', 'maskfill.didAccept'] },
    },
    serverInfo: { name: 'maskfill-fake', version: '0' },
  };
}

const handlers = {
  initialize: (params) => {
    const folder = (params.workspaceFolders || [])[0]?.uri || params.rootUri;
    if (typeof folder === 'string' && folder.startsWith('file:')) workspaceFolder = url.fileURLToPath(folder);
    return initializeResult();
  },
  shutdown: () => null,
  'maskfill/status': () => STATUS,
  'fake/log': () => log,
  'fake/document': (params) => docs.get(params.uri) || null,
  'textDocument/codeAction': (params) => {
    const doc = docs.get(params.textDocument.uri);
    const target = { uri: params.textDocument.uri, range: params.range, version: doc ? doc.version : 0 };
    return [
      { title: 'Fill selection with maskfill', kind: 'refactor.rewrite',
        command: { title: 'Fill selection with maskfill', command: 'maskfill.fillSelection', arguments: [target] } },
      { title: 'Edit with instruction…', kind: 'refactor.rewrite',
        command: { title: 'Edit with instruction…', command: 'maskfill.editWithInstruction', arguments: [target] } },
    ];
  },
  'maskfill/fill': (params) => {
    const doc = docs.get(params.textDocument.uri);
    return { edits: [{ range: params.range, newText: 'FILLED' }], version: doc ? doc.version : 0 };
  },
  'workspace/executeCommand': (params, id) => {
    log.push({ event: 'executeCommand', command: params.command, arguments: params.arguments });
    if (params.command !== 'maskfill.applyInstruction') return null;
    const arg = params.arguments[0];
    const serverId = nextServerId++;
    serverRequests.set(serverId, (result) => {
      log.push({ event: 'applyEditResult', result });
      send({ id, result: null });
    });
    send({ id: serverId, method: 'workspace/applyEdit', params: {
      label: 'maskfill: edit with instruction',
      edit: { documentChanges: [{ textDocument: { uri: arg.uri, version: arg.version },
        edits: [{ range: arg.range, newText: `EDITED(${arg.instruction})` }] }] } } });
    return undefined; // answered once the client replied to applyEdit
  },
  'maskfill/nextEdits': (params, id) => {
    log.push({ event: 'nextEdits', id, position: params.position, version: (docs.get(params.textDocument.uri) || {}).version });
    pending.set(id, setTimeout(() => { pending.delete(id); send({ id, result: nextEdits(params) }); }, DELAY_MS));
    return undefined;
  },
  'textDocument/inlineCompletion': (params, id) => {
    log.push({ event: 'inlineCompletion', id, position: params.position, triggerKind: params.context && params.context.triggerKind });
    pending.set(id, setTimeout(() => { pending.delete(id); send({ id, result: inlineItems(params) }); }, DELAY_MS));
    return undefined; // answered by the timer, or -32800 on $/cancelRequest
  },
};

const notifications = {
  initialized: () => {
    send({ method: 'maskfill/status', params: { state: 'loading', message: 'loading fake model' } });
    send({ method: 'maskfill/status', params: STATUS });
  },
  exit: () => process.exit(0),
  'textDocument/didOpen': (p) => docs.set(p.textDocument.uri, { text: p.textDocument.text, version: p.textDocument.version }),
  'textDocument/didChange': (p) => {
    const doc = docs.get(p.textDocument.uri);
    if (!doc) return;
    for (const change of p.contentChanges) applyChange(doc, change);
    doc.version = p.textDocument.version;
  },
  'textDocument/didClose': (p) => docs.delete(p.textDocument.uri),
  'maskfill/didShowNextEdit': (p) => log.push({ event: 'didShowNextEdit', id: p.id }),
  'maskfill/didRejectNextEdit': (p) => log.push({ event: 'didRejectNextEdit', id: p.id }),
  'workspace/didChangeConfiguration': (p) => log.push({ event: 'didChangeConfiguration', settings: p.settings }),
  '$/cancelRequest': (p) => {
    const timer = pending.get(p.id);
    log.push({ event: 'cancel', id: p.id, wasPending: Boolean(timer) });
    if (timer) {
      clearTimeout(timer);
      pending.delete(p.id);
      send({ id: p.id, error: { code: -32800, message: 'cancelled' } });
    }
  },
};

function dispatch(message) {
  if (message.method === undefined) { // a response to one of our requests
    const done = serverRequests.get(message.id);
    if (done) { serverRequests.delete(message.id); done(message.result); }
    return;
  }
  if (message.id === undefined) {
    const handler = notifications[message.method];
    if (handler) handler(message.params || {});
    return;
  }
  const handler = handlers[message.method];
  if (!handler) { send({ id: message.id, error: { code: -32601, message: `unhandled ${message.method}` } }); return; }
  const result = handler(message.params || {}, message.id);
  if (result !== undefined) send({ id: message.id, result });
}

let buffer = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const headerEnd = buffer.indexOf('\r\n\r\n');
    if (headerEnd < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.slice(0, headerEnd).toString())[1]);
    if (buffer.length < headerEnd + 4 + length) return;
    const body = buffer.slice(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
    buffer = buffer.slice(headerEnd + 4 + length);
    dispatch(JSON.parse(body));
  }
});
process.stdin.on('end', () => process.exit(0));
