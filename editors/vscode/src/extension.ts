// VS Code entry point: starts `maskfill lsp`, wires the status bar and the client-side commands.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { buildClientOptions, buildServerOptions } from './clientOptions';
import {
  COMMAND_DID_ACCEPT, COMMAND_EDIT_WITH_INSTRUCTION, EditTarget, METHOD_FILL, METHOD_STATUS,
  applyInstructionParams, checkFillResult, clientSideCommands, fillParams, parseEditTarget, validateInstruction,
} from './requests';
import { MaskfillSettings, needsRestart, readSettings } from './settings';
import { STARTING, ServerStatus, parseStatus, presentStatus } from './status';

let client: LanguageClient | undefined;
let settings: MaskfillSettings;
let statusItem: vscode.StatusBarItem;
let clientCommands: vscode.Disposable[] = [];

function currentSettings(): MaskfillSettings {
  const config = vscode.workspace.getConfiguration('maskfill');
  return readSettings((key) => config.get(key));
}

function showStatus(status: ServerStatus): void {
  const view = presentStatus(status);
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.backgroundColor = view.isError ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  statusItem.show();
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  settings = currentSettings();
  showStatus(STARTING);
  const started = new LanguageClient('maskfill', 'maskfill', buildServerOptions(settings), buildClientOptions(settings));
  client = started;
  started.onNotification(METHOD_STATUS, (raw: unknown) => showStatus(parseStatus(raw)));
  try {
    await started.start();
  } catch (error) {
    showStatus({ state: 'error', message: `could not start "${settings.serverPath} lsp": ${String(error)}` });
    return;
  }
  registerClientSideCommands(started);
  try {
    showStatus(parseStatus(await started.sendRequest(METHOD_STATUS, {})));
  } catch (error) {
    showStatus({ state: 'error', message: `maskfill/status failed: ${String(error)}` });
  }
  context.subscriptions.push({ dispose: () => void started.stop() });
}

function registerClientSideCommands(started: LanguageClient): void {
  clientCommands.forEach((d) => d.dispose());
  clientCommands = [];
  const serverCommands = started.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
  const { register, conflicts } = clientSideCommands(serverCommands);
  for (const id of conflicts) {
    started.warn(`server lists ${id} in executeCommandProvider; it is meant to be handled by the client`);
  }
  for (const id of register) {
    const handler = id === COMMAND_EDIT_WITH_INSTRUCTION
      ? (arg: unknown) => editWithInstruction(parseEditTarget(arg))
      : (...args: unknown[]) => started.sendRequest(ExecuteCommandRequest.type, { command: COMMAND_DID_ACCEPT, arguments: args });
    clientCommands.push(vscode.commands.registerCommand(id, handler));
  }
}

function requireClient(): LanguageClient {
  if (!client || !client.isRunning()) throw new Error('the maskfill server is not running (see the maskfill output channel)');
  return client;
}

async function editWithInstruction(target: EditTarget): Promise<void> {
  const instruction = await vscode.window.showInputBox({
    title: 'maskfill: Edit with instruction',
    prompt: 'What should the selected code become?',
    placeHolder: 'e.g. handle the empty list',
    validateInput: validateInstruction,
  });
  if (instruction === undefined) return; // cancelled
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'maskfill: editing…', cancellable: true },
    // The server answers after it sent workspace/applyEdit (versioned documentChanges), which
    // vscode-languageclient applies, or rejects if the document moved on.
    (_progress, token) => requireClient().sendRequest(ExecuteCommandRequest.type, applyInstructionParams(target, instruction), token),
  );
}

function editTargetOfEditor(editor: vscode.TextEditor): EditTarget {
  const c2p = requireClient().code2ProtocolConverter;
  return { uri: c2p.asUri(editor.document.uri), range: c2p.asRange(editor.selection), version: editor.document.version };
}

async function fillSelection(editor: vscode.TextEditor): Promise<void> {
  const started = requireClient();
  const document = editor.document;
  const version = document.version;
  const params = fillParams(started.code2ProtocolConverter.asUri(document.uri), started.code2ProtocolConverter.asRange(editor.selection));
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'maskfill: filling…', cancellable: true },
    (_progress, token) => started.sendRequest(METHOD_FILL, params, token),
  );
  const edits = checkFillResult(result, document.version === version ? version : document.version);
  const workspaceEdit = new vscode.WorkspaceEdit();
  workspaceEdit.set(document.uri, await started.protocol2CodeConverter.asTextEdits(edits));
  if (!(await vscode.workspace.applyEdit(workspaceEdit))) throw new Error('VS Code refused the edit');
}

function reportErrors<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      void vscode.window.showErrorMessage(`maskfill: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  statusItem.command = 'maskfill.restartServer';
  context.subscriptions.push(
    statusItem,
    vscode.commands.registerTextEditorCommand('maskfill.fill', reportErrors(fillSelection)),
    vscode.commands.registerTextEditorCommand('maskfill.edit', reportErrors((editor) => editWithInstruction(editTargetOfEditor(editor)))),
    vscode.commands.registerCommand('maskfill.restartServer', reportErrors(() => restart(context))),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('maskfill') && needsRestart(settings, currentSettings())) void restart(context);
    }),
    { dispose: () => clientCommands.forEach((d) => d.dispose()) },
  );
  await startClient(context);
}

async function restart(context: vscode.ExtensionContext): Promise<void> {
  const old = client;
  client = undefined;
  if (old) await old.stop().catch(() => undefined);
  await startClient(context);
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop();
}
