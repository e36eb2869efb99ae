// VS Code entry point: starts `maskfill lsp`, wires the status bar and the client-side commands.
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, LanguageClient } from 'vscode-languageclient/node';
import { buildClientOptions, buildServerOptions } from './clientOptions';
import {
  COMMAND_TOGGLE_INLINE, EditTarget, METHOD_EDIT, METHOD_FILL, METHOD_STATUS, TextEdit,
  applyEditsToText, checkFillResult, commandHandling, editParams, fillParams, parseEditTarget, validateInstruction,
} from './requests';
import { MenuAction, gateNote, menuItems } from './gate';
import { MaskfillSettings, needsRestart, readSettings, serverSettingsChange } from './settings';
import { NextEditController } from './nextEditController';
import { COMMAND_NEXT_EDIT_DISMISS, COMMAND_NEXT_EDIT_JUMP_OR_APPLY } from './nextEdits';
import { STARTING, ServerStatus, parseStatus, presentStatus } from './status';

let client: LanguageClient | undefined;
let settings: MaskfillSettings;
let statusItem: vscode.StatusBarItem;
let lastStatus: ServerStatus = STARTING;
let snoozedUntil: number | undefined; // epoch ms; this window only, as Copilot's snooze
let snoozeTimer: NodeJS.Timeout | undefined;
let nextEdits: NextEditController | undefined;
const PREVIEW_SCHEME = 'maskfill-preview';
const previews = new Map<string, string>(); // preview uri → proposed text

function currentSettings(): MaskfillSettings {
  const config = vscode.workspace.getConfiguration('maskfill');
  return readSettings((key) => config.get(key));
}

function showStatus(status: ServerStatus = lastStatus): void {
  lastStatus = status;
  const languageId = vscode.window.activeTextEditor?.document.languageId;
  const gate = settings && languageId
    ? gateNote({ enabled: settings.inlineCompletionEnabled, languages: settings.inlineLanguages, languageId, snoozedUntil, now: Date.now() })
    : undefined;
  const view = presentStatus(status, gate);
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
    buildClientOptions(() => settings, {}, (command, args, next) => runServerCommand(command, args, next), () => snoozedUntil));
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

// Switches are written for the open workspace when there is one, else for the user.
function switchTarget(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

async function setInlineEnabled(enabled: boolean, target = switchTarget()): Promise<void> {
  await vscode.workspace.getConfiguration('maskfill').update('inlineCompletion.enabled', enabled, target);
  void vscode.window.setStatusBarMessage(`maskfill: inline suggestions ${enabled ? 'on' : 'off'}`, 3000);
}

async function toggleInlineCompletion(): Promise<void> {
  await setInlineEnabled(!settings.inlineCompletionEnabled);
}

function snooze(minutes: number | undefined): void {
  if (snoozeTimer) clearTimeout(snoozeTimer);
  snoozeTimer = undefined;
  snoozedUntil = minutes ? Date.now() + minutes * 60_000 : undefined;
  if (minutes) snoozeTimer = setTimeout(() => snooze(undefined), minutes * 60_000);
  // Hide what is on screen now; the middleware refuses new requests until the snooze ends.
  if (minutes) void vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
  showStatus();
}

async function setLanguageEnabled(languageId: string, enable: boolean): Promise<void> {
  const config = vscode.workspace.getConfiguration('maskfill');
  const target = switchTarget();
  const inspected = config.inspect<Record<string, boolean>>('inlineCompletion.languages');
  const current = (target === vscode.ConfigurationTarget.Workspace ? inspected?.workspaceValue : inspected?.globalValue) ?? settings.inlineLanguages;
  await config.update('inlineCompletion.languages', { ...current, [languageId]: enable }, target);
}

async function runMenuAction(action: MenuAction, context: vscode.ExtensionContext): Promise<void> {
  switch (action.kind) {
    case 'snooze': return snooze(action.minutes);
    case 'resume': return snooze(undefined);
    case 'language': return setLanguageEnabled(action.languageId, action.enable);
    case 'workspace': return setInlineEnabled(action.enable, vscode.ConfigurationTarget.Workspace);
    case 'toggle': return toggleInlineCompletion();
    case 'logs': return client?.outputChannel.show(true);
    case 'restart': return restart(context);
  }
}

// The status bar item's menu (as Copilot's and Tabby's).
async function showMenu(context: vscode.ExtensionContext): Promise<void> {
  const workspaceValue = vscode.workspace.getConfiguration('maskfill').inspect<boolean>('inlineCompletion.enabled')?.workspaceValue;
  const items = menuItems({
    enabled: settings.inlineCompletionEnabled, snoozedUntil, now: Date.now(),
    languageId: vscode.window.activeTextEditor?.document.languageId, languages: settings.inlineLanguages,
    workspaceOpen: Boolean(vscode.workspace.workspaceFolders?.length), workspaceValue,
  });
  const picked = await vscode.window.showQuickPick(items, { title: 'maskfill', placeHolder: lastStatus.model ?? 'inline suggestions' });
  if (picked) await runMenuAction(picked.action, context);
}

// Settings changed: a new binary restarts the server; anything else is pushed to it (it applies
// budgets and debounce live and reloads the model itself for modelPath/device/dtype).
async function onSettingsChanged(context: vscode.ExtensionContext): Promise<void> {
  const before = settings;
  const after = currentSettings();
  if (needsRestart(before, after)) return restart(context);
  settings = after;
  showStatus();
  if (!after.nextEditEnabled) nextEdits?.dismiss();
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
  statusItem.command = 'maskfill.showMenu';
  const controller = new NextEditController(() => client, () => settings?.nextEditEnabled === true);
  nextEdits = controller;
  context.subscriptions.push(
    controller,
    vscode.commands.registerCommand(COMMAND_NEXT_EDIT_JUMP_OR_APPLY, reportErrors(() => controller.jumpOrApply())),
    vscode.commands.registerCommand(COMMAND_NEXT_EDIT_DISMISS, reportErrors(async () => controller.dismiss())),
    statusItem,
    { dispose: () => snoozeTimer && clearTimeout(snoozeTimer) },
    vscode.commands.registerCommand('maskfill.showMenu', reportErrors(() => showMenu(context))),
    vscode.commands.registerCommand('maskfill.snooze', reportErrors(async (minutes?: unknown) => snooze(typeof minutes === 'number' && minutes > 0 ? minutes : 5))),
    vscode.commands.registerCommand('maskfill.openLogs', reportErrors(async () => client?.outputChannel.show(true))),
    vscode.window.onDidChangeActiveTextEditor(() => showStatus()),
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
