// Drives the real `maskfill lsp` (from $MASKFILL_BUILD_DIR, or $MASKFILL_SERVER) with the
// extension's own server options, initializationOptions and the client capabilities
// vscode-languageclient computes for them, over vscode-languageserver-protocol.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installVscodeStub } from './vscodeStub';
import {
  ClientCapabilities, CodeAction, Command, createProtocolConnection, InitializeResult, ProtocolConnection,
  StreamMessageReader, StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { buildClientOptions, buildServerOptions } from '../src/clientOptions';
import { readSettings } from '../src/settings';
import { parseStatus, ServerStatus } from '../src/status';
import { checkFillResult, COMMAND_DID_ACCEPT, COMMAND_EDIT_WITH_INSTRUCTION, METHOD_FILL, METHOD_STATUS, applyInstructionParams } from '../src/requests';

const repoRoot = path.resolve(__dirname, '../../../..');
const serverPath = process.env.MASKFILL_SERVER ?? path.join(process.env.MASKFILL_BUILD_DIR ?? path.join(repoRoot, 'build'), 'maskfill');
const bundledModel = fs.existsSync(path.join(repoRoot, 'models/maskfill-tiny/config.json'));
const LOAD_TIMEOUT_MS = Number(process.env.MASKFILL_LOAD_TIMEOUT_MS ?? 180_000);

function extensionClientSetup() {
  installVscodeStub();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { LanguageClient } = require('vscode-languageclient/node');
  const settings = readSettings((key) => (key === 'serverPath' ? serverPath : undefined));
  const serverOptions = buildServerOptions(settings) as { command: string; args: string[] };
  const clientOptions = buildClientOptions(settings);
  const client = new LanguageClient('maskfill', 'maskfill', serverOptions, clientOptions);
  const capabilities: ClientCapabilities = client.computeClientCapabilities();
  return { serverOptions, clientOptions, capabilities };
}

const uri = 'file:///tmp/maskfill-protocol-test/add.py';
const text = 'def add(a, b):\n    return a + b\n\n\ndef mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return \n';

test('the extension\'s client options against the real server', { timeout: LOAD_TIMEOUT_MS + 60_000 }, async (t) => {
  assert.ok(fs.existsSync(serverPath), `server binary not found: ${serverPath} (set MASKFILL_BUILD_DIR)`);
  const { serverOptions, clientOptions, capabilities } = extensionClientSetup();
  assert.equal(capabilities.textDocument?.inlineCompletion?.dynamicRegistration, true, 'client advertises LSP 3.18 inline completion');
  assert.equal(capabilities.workspace?.workspaceEdit?.documentChanges, true);

  const child = spawn(serverOptions.command, serverOptions.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const connection: ProtocolConnection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));

  const statusNotifications: ServerStatus[] = [];
  const registrations = new Map<string, string>(); // registration id → method
  const appliedEdits: unknown[] = [];
  connection.onNotification(METHOD_STATUS, (raw) => { statusNotifications.push(parseStatus(raw)); });
  connection.onNotification('$/progress', () => undefined);
  connection.onNotification('window/logMessage', () => undefined);
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onRequest('workspace/configuration', (params: { items: unknown[] }) => params.items.map(() => null));
  connection.onRequest('client/registerCapability', (params: { registrations: { id: string; method: string }[] }) => {
    for (const r of params.registrations) registrations.set(r.id, r.method);
    return null;
  });
  connection.onRequest('client/unregisterCapability', (params: { unregisterations: { id: string }[] }) => {
    for (const r of params.unregisterations) registrations.delete(r.id);
    return null;
  });
  connection.onRequest('workspace/applyEdit', (params) => { appliedEdits.push(params); return { applied: true }; });
  connection.listen();
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  const init: InitializeResult = await connection.sendRequest('initialize', {
    processId: process.pid, rootUri: null, workspaceFolders: null, capabilities,
    initializationOptions: clientOptions.initializationOptions, clientInfo: { name: 'maskfill-vscode-protocol-test' },
  });
  const caps = init.capabilities;
  assert.ok(caps.textDocumentSync !== undefined, 'server syncs documents');
  const serverCommands = caps.executeCommandProvider?.commands ?? [];
  for (const command of ['maskfill.applyInstruction', 'maskfill.fillSelection']) {
    assert.ok(serverCommands.includes(command), `executeCommandProvider lists ${command}: ${JSON.stringify(serverCommands)}`);
  }
  // Every command a code action carries is the server's (any client can run it); the extension
  // registers none of these ids itself and adds its prompt through middleware.executeCommand.
  assert.ok(serverCommands.includes(COMMAND_EDIT_WITH_INSTRUCTION), `executeCommandProvider lists ${COMMAND_EDIT_WITH_INSTRUCTION}`);
  assert.equal(typeof clientOptions.middleware?.executeCommand, 'undefined', 'the test builds the options without the VS Code UI hook');
  const actionKinds = typeof caps.codeActionProvider === 'object' ? caps.codeActionProvider.codeActionKinds : undefined;
  assert.ok(caps.codeActionProvider, 'server provides code actions');
  if (actionKinds) assert.ok(actionKinds.includes('refactor.rewrite'), `code action kinds: ${JSON.stringify(actionKinds)}`);
  connection.sendNotification('initialized', {});
  connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });

  // Status: answers at once, then settles (ready with a model, error with the reason otherwise).
  let status = parseStatus(await connection.sendRequest(METHOD_STATUS, {}));
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  while (status.state === 'loading' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    status = parseStatus(await connection.sendRequest(METHOD_STATUS, {}));
  }
  t.diagnostic(`server status: ${JSON.stringify(status)}; bundled model: ${bundledModel}`);
  assert.ok(status.state === 'ready' || status.state === 'error', `status settled: ${JSON.stringify(status)}; stderr: ${stderr}`);
  if (status.state === 'error') assert.ok(status.message, 'an error status says why');
  if (status.state === 'ready') assert.ok(status.model, 'a ready status names the model');
  if (bundledModel) assert.equal(status.state, 'ready', `bundled model present but status is ${JSON.stringify(status)}; stderr: ${stderr}`);

  const inlineRegistered = Boolean(caps.inlineCompletionProvider) || [...registrations.values()].includes('textDocument/inlineCompletion');
  if (status.state === 'ready') assert.ok(inlineRegistered, 'inline completion is offered once a model is loaded');
  else assert.ok(![...registrations.values()].includes('textDocument/inlineCompletion'), 'no inline completion registered without a model');

  // Code actions for a range (listing never runs the model).
  const range = { start: { line: 1, character: 4 }, end: { line: 1, character: 16 } };
  const actions = (await connection.sendRequest('textDocument/codeAction', {
    textDocument: { uri }, range, context: { diagnostics: [], only: ['refactor.rewrite'], triggerKind: 1 },
  })) as (CodeAction | Command)[] | null;
  assert.ok(Array.isArray(actions), `code actions answer is a list: ${JSON.stringify(actions)}`);
  const commandOf = (title: RegExp) => {
    const action = actions.find((a) => title.test(a.title));
    if (!action) return undefined;
    return (('kind' in action || 'edit' in action) ? (action as CodeAction).command : action as Command);
  };
  const fill = commandOf(/^Fill selection with maskfill/);
  const edit = commandOf(/^Edit with instruction/);
  if (status.state === 'ready' || actions.length > 0) {
    assert.equal(fill?.command, 'maskfill.fillSelection', JSON.stringify(actions));
    assert.equal(edit?.command, COMMAND_EDIT_WITH_INSTRUCTION, JSON.stringify(actions));
    assert.deepEqual(edit?.arguments?.[0], { uri, range, version: 1 });
    for (const a of actions) if ('kind' in a && a.kind !== undefined) assert.ok(a.kind.startsWith('refactor.rewrite'), a.kind);
  }

  if (status.state === 'ready') {
    await t.test('inline completion item carries the didAccept command', async () => {
      const result = (await connection.sendRequest('textDocument/inlineCompletion', {
        textDocument: { uri }, position: { line: 8, character: 11 }, context: { triggerKind: 1 },
      })) as { items: { insertText: unknown; command?: Command }[] } | { insertText: unknown }[] | null;
      const items = Array.isArray(result) ? result : result?.items ?? [];
      t.diagnostic(`inline items: ${JSON.stringify(items).slice(0, 400)}`);
      for (const item of items as { insertText: unknown; command?: Command }[]) {
        const insert = typeof item.insertText === 'string' ? item.insertText : (item.insertText as { value: string }).value;
        assert.equal(typeof insert, 'string');
        assert.equal(item.command?.command, COMMAND_DID_ACCEPT);
        assert.ok(item.command?.arguments?.[0]?.id !== undefined, 'didAccept has an id');
      }
      if (items.length > 0) {
        const first = items[0] as unknown as { command: Command };
        await connection.sendRequest('workspace/executeCommand', { command: first.command.command, arguments: first.command.arguments });
      }
    });
    await t.test('maskfill/fill returns edits for the open version', async () => {
      const result = await connection.sendRequest(METHOD_FILL, { textDocument: { uri }, range });
      const edits = checkFillResult(result, 1);
      t.diagnostic(`fill edits: ${JSON.stringify(edits).slice(0, 400)}`);
    });
    await t.test('applyInstruction answers with a versioned workspace/applyEdit', async () => {
      await connection.sendRequest('workspace/executeCommand', applyInstructionParams({ uri, range, version: 1 }, 'return the product'));
      assert.equal(appliedEdits.length, 1, 'one workspace/applyEdit');
      const change = (appliedEdits[0] as { edit: { documentChanges: { textDocument: { uri: string; version: number } }[] } }).edit.documentChanges[0];
      assert.deepEqual(change.textDocument, { uri, version: 1 });
    });
    await t.test('a notebook cell is served: the other cells reach its prompt', async () => {
      const selector = clientOptions.documentSelector as { scheme: string; language: string }[];
      assert.ok(selector.some((s) => s.scheme === 'vscode-notebook-cell' && s.language === 'python'), 'selector covers notebook cells');
      // VS Code's cell URIs: the notebook's path, the cell in the fragment.
      const cell = (n: number) => `vscode-notebook-cell:/tmp/maskfill-protocol-test/analysis.ipynb#W${n}sZmlsZQ%3D%3D`;
      connection.sendNotification('textDocument/didOpen', { textDocument: {
        uri: cell(0), languageId: 'python', version: 1, text: 'def normalise_scores(scores, *, floor=0.0):\n    top = max(scores)\n    return [max(floor, s / top) for s in scores]\n' } });
      connection.sendNotification('textDocument/didOpen', { textDocument: { uri: cell(1), languageId: 'python', version: 1, text: 'ranked = normalise_sc' } });
      const result = (await connection.sendRequest('textDocument/inlineCompletion', {
        textDocument: { uri: cell(1) }, position: { line: 0, character: 20 }, context: { triggerKind: 1 },
      })) as { items: unknown[] } | unknown[] | null;
      assert.ok(result !== null, 'the cell gets an answer');
      const now = parseStatus(await connection.sendRequest(METHOD_STATUS, {}));
      t.diagnostic(`cell items: ${JSON.stringify(result).slice(0, 300)}; context: ${JSON.stringify(now.context)}`);
      assert.ok((now.context?.snippets ?? 0) >= 1, `the other cell's definition is in the prompt: ${JSON.stringify(now.context)}`);
    });
  } else {
    t.diagnostic('SKIPPED model round trips (inline completion, fill, instruction edit): server has no model');
  }

  await connection.sendRequest('shutdown');
  connection.sendNotification('exit');
  const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref())]);
  assert.equal(code, 0, `server exits cleanly after shutdown/exit; stderr: ${stderr}`);
  connection.dispose();
});
