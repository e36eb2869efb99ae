// VS Code entry point: starts `maskfill lsp`, wires the status bar and the client-side commands.
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, LanguageClient } from 'vscode-languageclient/node';
import { buildClientOptions, buildServerOptions } from './clientOptions';
import {
  COMMAND_TOGGLE_INLINE, EditTarget, METHOD_EDIT, METHOD_FILL, METHOD_STATUS, TextEdit,
  applyEditsToText, checkFillResult, commandHandling, editParams, fillParams, parseEditTarget, validateInstruction,
} from './requests';
import { MaskfillSettings, needsRestart, readSettings, serverSettingsChange } from './settings';
import { STARTING, ServerStatus, parseStatus, presentStatus } from './status';

let client: LanguageClient | undefined;
let settings: MaskfillSettings;
let statusItem: vscode.StatusBarItem;
const PREVIEW_SCHEME = 'maskfill-preview';
const previews = new Map<string, string>(); // preview uri → proposed text

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
  // Client id 'maskfill': vscode-languageclient reads the `maskfill.trace.server` setting itself.
  const started = new LanguageClient('maskfill', 'maskfill', buildServerOptions(settings),
    buildClientOptions(() => settings, {}, (command, args, next) => runServerCommand(command, args, next)));
  client = started;
  started.onNotification(METHOD_STATUS, (raw: unknown) => showStatus(parseStatus(raw)));
  try {
    await started.start();
  } catch (error) {
    showStatus({ state: 'error', message: `could not start "${settings.serverPath} lsp": ${String(error)}` });
    return;
  }
  try {
    showStatus(parseStatus(await started.sendRequest(METHOD_STATUS, {})));
  } catch (error) {
    showStatus({ state: 'error', message: `maskfill/status failed: ${String(error)}` });
  }
  context.subscriptions.push({ dispose: () => void started.stop() });
}

function requireClient(): LanguageClient {
  if (!client || !client.isRunning()) throw new Error('the maskfill server is not running (see the maskfill output channel)');
  return client;
}

// The server's commands as vscode-languageclient runs them (code actions, palette): the
// instruction edit asks, previews and applies here; fills show progress; the rest goes as is.
async function runServerCommand(command: string, args: unknown[], next: (command: string, args: unknown[]) => Promise<unknown>): Promise<unknown> {
  try {
    switch (commandHandling(command, args)) {
      case 'prompt':
        return await editWithInstruction(parseEditTarget(args[0]));
      case 'progress':
        return await withModelProgress(command === 'maskfill.fillSelection' ? 'filling…' : 'editing…', () => next(command, args));
      default:
        return await next(command, args);
    }
  } catch (error) {
    void vscode.window.showErrorMessage(`maskfill: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function withModelProgress<T>(title: string, run: (token: vscode.CancellationToken) => Thenable<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `maskfill: ${title}`, cancellable: true },
    (_progress, token) => run(token));
}

async function editWithInstruction(target: EditTarget): Promise<void> {
  const instruction = await vscode.window.showInputBox({
    title: 'maskfill: Edit with instruction',
    prompt: 'What should the selected code become?',
    placeHolder: 'e.g. handle the empty list',
    validateInput: validateInstruction,
  });
  if (instruction === undefined) return; // cancelled
  const started = requireClient();
  const uri = started.protocol2CodeConverter.asUri(target.uri);
  const document = await vscode.workspace.openTextDocument(uri);
  const result = await withModelProgress('editing…', (token) => started.sendRequest(METHOD_EDIT, editParams(target, instruction), token));
  const edits = checkFillResult(result, document.version);
  if (edits.length === 0) {
    void vscode.window.showInformationMessage('maskfill: the model proposed no change');
    return;
  }
  if (settings.previewInstructionEdits && !(await previewAccepted(document, edits, instruction))) return;
  checkFillResult(result, document.version); // typed meanwhile: refuse rather than misplace
  const workspaceEdit = new vscode.WorkspaceEdit();
  workspaceEdit.set(document.uri, await started.protocol2CodeConverter.asTextEdits(edits));
  if (!(await vscode.workspace.applyEdit(workspaceEdit))) throw new Error('VS Code refused the edit');
}

// Shows original ↔ proposed in a diff editor and asks Accept / Discard.
async function previewAccepted(document: vscode.TextDocument, edits: TextEdit[], instruction: string): Promise<boolean> {
  const preview = vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: document.uri.path, query: `v=${document.version}&t=${Date.now()}` });
  previews.set(preview.toString(), applyEditsToText(document.getText(), edits));
  try {
    await vscode.commands.executeCommand('vscode.diff', document.uri, preview, `maskfill: "${instruction}" (preview)`, { preview: true });
    const choice = await vscode.window.showInformationMessage(`maskfill: apply the edit "${instruction}"?`, 'Accept', 'Discard');
    return choice === 'Accept';
  } finally {
    previews.delete(preview.toString());
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        if (tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.toString() === preview.toString()) {
          await vscode.window.tabGroups.close(tab);
        }
      }
    }
  }
}

async function toggleInlineCompletion(): Promise<void> {
  const config = vscode.workspace.getConfiguration('maskfill');
  const enabled = !settings.inlineCompletionEnabled;
  await config.update('inlineCompletion.enabled', enabled, vscode.ConfigurationTarget.Global);
  void vscode.window.setStatusBarMessage(`maskfill: inline suggestions ${enabled ? 'on' : 'off'}`, 3000);
}

// Settings changed: a new binary restarts the server; anything else is pushed to it (it applies
// budgets and debounce live and reloads the model itself for modelPath/device/dtype).
async function onSettingsChanged(context: vscode.ExtensionContext): Promise<void> {
  const before = settings;
  const after = currentSettings();
  if (needsRestart(before, after)) return restart(context);
  settings = after;
  const change = serverSettingsChange(before, after);
  if (change && client?.isRunning()) await client.sendNotification(DidChangeConfigurationNotification.type, { settings: change });
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
  const result = await withModelProgress('filling…', (token) => started.sendRequest(METHOD_FILL, params, token));
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
    vscode.commands.registerCommand(COMMAND_TOGGLE_INLINE, reportErrors(toggleInlineCompletion)),
    vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, {
      provideTextDocumentContent: (uri) => previews.get(uri.toString()) ?? '',
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('maskfill')) void onSettingsChanged(context).catch(() => undefined);
    }),
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
