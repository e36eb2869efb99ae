// Next-edit suggestions in the editor: after the user changes a document (debounced), ask
// maskfill/nextEdits for the other places the edit implies and draw them with decorations (the
// old text struck through, the new text right after it). While they are shown the context key
// maskfillNextEditVisible is set, so Tab (jump to the next site; on a site, apply it) and
// Escape (dismiss all) are taken only then. Each apply is one editor.edit call: one undo step.
// The server hears what was shown, applied (maskfill.didAcceptNextEdit) and dismissed; the
// user's next change, another editor or a closed document dismisses what is shown.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { LANGUAGES } from './clientOptions';
import {
  COMMAND_DID_ACCEPT_NEXT_EDIT, CONTEXT_NEXT_EDIT_VISIBLE, METHOD_NEXT_EDITS, NOTIFY_NEXT_EDIT_REJECTED, NOTIFY_NEXT_EDIT_SHOWN,
  Site, afterApply, nextSite, parseNextEdits, siteAt,
} from './nextEdits';

const DEBOUNCE_MS = 300;

export class NextEditController implements vscode.Disposable {
  private readonly struck = vscode.window.createTextEditorDecorationType({
    textDecoration: 'line-through',
    backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
  });
  private readonly inserted = vscode.window.createTextEditorDecorationType({});
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private request: vscode.CancellationTokenSource | undefined;
  private shown: { document: vscode.TextDocument; version: number; sites: Site[] } | undefined;
  private applying: { document: vscode.TextDocument; start: number; text: string } | undefined; // our own edit in flight

  constructor(private readonly client: () => LanguageClient | undefined, private readonly enabled: () => boolean) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((event) => this.onChange(event)),
      vscode.window.onDidChangeActiveTextEditor(() => this.dismiss()),
      vscode.workspace.onDidCloseTextDocument((document) => { if (document === this.shown?.document) this.dismiss(); }),
    );
  }

  dispose(): void {
    this.dismiss();
    this.struck.dispose();
    this.inserted.dispose();
    for (const s of this.subscriptions) s.dispose();
  }

  private onChange(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) return;
    const own = this.applying;
    if (own && event.document === own.document && event.contentChanges.length === 1 &&
        event.contentChanges[0].rangeOffset === own.start && event.contentChanges[0].text === own.text) return; // our apply: the sites stay
    if (this.shown && event.document === this.shown.document) this.dismiss();
    const editor = vscode.window.activeTextEditor;
    if (!this.enabled() || editor?.document !== event.document) return;
    if (!(LANGUAGES as readonly string[]).includes(event.document.languageId)) return;
    this.cancel();
    const version = event.document.version;
    this.timer = setTimeout(() => void this.ask(editor, version), DEBOUNCE_MS);
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.request?.cancel();
    this.request = undefined;
  }

  private async ask(editor: vscode.TextEditor, version: number): Promise<void> {
    const client = this.client();
    const document = editor.document;
    if (!client?.isRunning() || document.version !== version || vscode.window.activeTextEditor !== editor) return;
    const request = new vscode.CancellationTokenSource();
    this.request = request;
    let result: unknown;
    try {
      result = await client.sendRequest(METHOD_NEXT_EDITS, {
        textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri) },
        position: client.code2ProtocolConverter.asPosition(editor.selection.active),
      }, request.token);
    } catch {
      return; // cancelled by newer typing, or failed: nothing to show
    } finally {
      if (this.request === request) this.request = undefined;
    }
    // The answer is for `version`: typing meanwhile makes it stale.
    if (request.token.isCancellationRequested || document.version !== version || vscode.window.activeTextEditor !== editor) return;
    this.show(editor, parseNextEdits(result).map((edit) => {
      const range = client.protocol2CodeConverter.asRange(edit.range);
      return { id: edit.id, start: document.offsetAt(range.start), end: document.offsetAt(range.end),
        oldText: document.getText(range), newText: edit.newText };
    }).filter((site) => site.oldText !== site.newText));
  }

  // Draws `sites` in `editor` (replacing what was shown) and reports each drawn one.
  show(editor: vscode.TextEditor, sites: Site[]): void {
    this.shown = sites.length ? { document: editor.document, version: editor.document.version, sites } : undefined;
    this.render(editor);
    for (const site of sites) void this.client()?.sendNotification(NOTIFY_NEXT_EDIT_SHOWN, { id: site.id });
  }

  private render(editor: vscode.TextEditor | undefined): void {
    const sites = this.shown?.sites ?? [];
    void vscode.commands.executeCommand('setContext', CONTEXT_NEXT_EDIT_VISIBLE, sites.length > 0);
    if (!editor) return;
    const document = editor.document;
    editor.setDecorations(this.struck, sites.map((s) => new vscode.Range(document.positionAt(s.start), document.positionAt(s.end))));
    editor.setDecorations(this.inserted, sites.map((s) => ({
      range: new vscode.Range(document.positionAt(s.end), document.positionAt(s.end)),
      renderOptions: { after: {
        contentText: s.newText.replace(/\n/g, '⏎'),
        color: new vscode.ThemeColor('editor.foreground'),
        backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
      } },
    })));
  }

  // Tab: on a site, apply it; elsewhere, move the cursor to the next one.
  async jumpOrApply(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !this.shown || editor.document !== this.shown.document) return;
    const offset = editor.document.offsetAt(editor.selection.active);
    const here = siteAt(this.shown.sites, offset);
    if (here) return this.apply(editor, here);
    const target = nextSite(this.shown.sites, offset);
    if (!target) return;
    const position = editor.document.positionAt(target.start);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private async apply(editor: vscode.TextEditor, site: Site): Promise<void> {
    const document = editor.document;
    const range = new vscode.Range(document.positionAt(site.start), document.positionAt(site.end));
    if (document.getText(range) !== site.oldText) return this.dismiss(); // the text moved under us
    this.applying = { document, start: site.start, text: site.newText };
    let applied = false;
    try {
      applied = await editor.edit((edit) => edit.replace(range, site.newText), { undoStopBefore: true, undoStopAfter: true });
    } finally {
      this.applying = undefined;
    }
    if (!applied || !this.shown) return;
    this.shown = { ...this.shown, version: document.version, sites: afterApply(this.shown.sites, site) };
    if (this.shown.sites.length === 0) this.shown = undefined;
    const start = document.positionAt(site.start);
    editor.selection = new vscode.Selection(start, start);
    this.render(editor);
    void this.client()?.sendRequest(ExecuteCommandRequest.type, { command: COMMAND_DID_ACCEPT_NEXT_EDIT, arguments: [site.id] }).catch(() => undefined);
  }

  // Escape, the user's next change, another editor: clear and report each shown site rejected.
  dismiss(): void {
    this.cancel();
    const shown = this.shown;
    this.shown = undefined;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === shown?.document);
    this.render(editor);
    for (const site of shown?.sites ?? []) void this.client()?.sendNotification(NOTIFY_NEXT_EDIT_REJECTED, { id: site.id });
  }
}
