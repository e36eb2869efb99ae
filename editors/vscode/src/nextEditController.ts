// Next-edit suggestions in the editor: after the user changes a document (debounced), ask
// maskfill/nextEdits for the other places the edit implies and draw them with decorations (the
// old text struck through, the new text right after it), in the edited document and in the
// other open documents the answer names (a rename's uses there). While they are shown the
// context key maskfillNextEditVisible is set, so Tab (jump to the next site, past the last one
// to the next document that has sites; on a site, apply it) and Escape (dismiss all) are taken
// only then. Each apply is one editor.edit call: one undo step. The server hears what was shown,
// applied (maskfill.didAcceptNextEdit) and dismissed; the user's next change to a document with
// sites, a switch to an editor without any, or closing such a document dismisses what is shown.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { LANGUAGES } from './clientOptions';
import {
  COMMAND_DID_ACCEPT_NEXT_EDIT, CONTEXT_NEXT_EDIT_VISIBLE, METHOD_NEXT_EDITS, NOTIFY_NEXT_EDIT_REJECTED, NOTIFY_NEXT_EDIT_SHOWN,
  NextEdit, Site, afterApply, nextSiteAcross, parseNextEdits, siteAt,
} from './nextEdits';

const DEBOUNCE_MS = 300;

// The sites shown in one document, at the version they were drawn for.
interface ShownDocument { document: vscode.TextDocument; sites: Site[] }

export class NextEditController implements vscode.Disposable {
  private readonly struck = vscode.window.createTextEditorDecorationType({
    textDecoration: 'line-through',
    backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
  });
  private readonly inserted = vscode.window.createTextEditorDecorationType({});
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private request: vscode.CancellationTokenSource | undefined;
  private shown: ShownDocument[] = []; // the edited document first, then the others; [] when no site is left
  private applying: { document: vscode.TextDocument; start: number; text: string } | undefined; // our own edit in flight
  private jumping = false; // Tab is opening another document's editor: the sites stay

  constructor(private readonly client: () => LanguageClient | undefined, private readonly enabled: () => boolean) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((event) => this.onChange(event)),
      vscode.window.onDidChangeActiveTextEditor((editor) => this.onActiveEditor(editor)),
      vscode.window.onDidChangeVisibleTextEditors(() => this.render()),
      vscode.workspace.onDidCloseTextDocument((document) => { if (this.shownIn(document)) this.dismiss(); }),
    );
  }

  dispose(): void {
    this.dismiss();
    this.struck.dispose();
    this.inserted.dispose();
    for (const s of this.subscriptions) s.dispose();
  }

  private shownIn(document: vscode.TextDocument | undefined): ShownDocument | undefined {
    return this.shown.find((d) => d.document === document);
  }

  private onActiveEditor(editor: vscode.TextEditor | undefined): void {
    if (this.jumping || (editor && this.shownIn(editor.document))) return this.render();
    this.dismiss();
  }

  private onChange(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) return;
    const own = this.applying;
    if (own && event.document === own.document && event.contentChanges.length === 1 &&
        event.contentChanges[0].rangeOffset === own.start && event.contentChanges[0].text === own.text) return; // our apply: the sites stay
    if (this.shownIn(event.document)) this.dismiss();
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
    const documents = await this.byDocument(client, document, parseNextEdits(result));
    // Opening the files the server read from disk took time: typing meanwhile makes it stale too.
    if (request.token.isCancellationRequested || document.version !== version || vscode.window.activeTextEditor !== editor) return;
    this.show(documents);
  }

  // The answer's edits as sites of their documents, the requested one first. An edit in an open
  // document that has changed since the server saw it is left out. An edit in a file the server
  // read from disk (version null) opens it (not shown: it loads as any opened file does) and is
  // kept only if the range still holds the text the server saw there.
  private async byDocument(client: LanguageClient, requested: vscode.TextDocument, edits: NextEdit[]): Promise<ShownDocument[]> {
    const requestedUri = client.code2ProtocolConverter.asUri(requested.uri);
    const documents: ShownDocument[] = [{ document: requested, sites: [] }];
    const openDocument = (uri: string) =>
      vscode.workspace.textDocuments.find((d) => client.code2ProtocolConverter.asUri(d.uri) === uri);
    for (const edit of edits) {
      let shown = documents[0];
      if (edit.uri !== undefined && edit.uri !== requestedUri) {
        let document = openDocument(edit.uri);
        if (edit.version === null) {
          try {
            document ??= await vscode.workspace.openTextDocument(client.protocol2CodeConverter.asUri(edit.uri));
          } catch {
            continue; // gone or unreadable since the server read it
          }
          if (document.getText(client.protocol2CodeConverter.asRange(edit.range)) !== edit.oldText) continue;
        } else if (!document || document.version !== edit.version) {
          continue;
        }
        shown = documents.find((d) => d.document === document) ?? documents[documents.push({ document, sites: [] }) - 1];
      }
      const range = client.protocol2CodeConverter.asRange(edit.range);
      const site = { id: edit.id, start: shown.document.offsetAt(range.start), end: shown.document.offsetAt(range.end),
        oldText: shown.document.getText(range), newText: edit.newText };
      if (site.oldText !== site.newText) shown.sites.push(site);
    }
    return documents;
  }

  // Draws `documents`' sites (replacing what was shown) and reports each drawn one. The first
  // document stays among them without sites of its own: Tab there goes to the others'.
  show(documents: ShownDocument[]): void {
    this.shown = documents.some((d) => d.sites.length > 0) ? documents : [];
    this.render();
    for (const site of this.shown.flatMap((d) => d.sites)) void this.client()?.sendNotification(NOTIFY_NEXT_EDIT_SHOWN, { id: site.id });
  }

  // Every visible editor shows its document's sites, or none.
  private render(): void {
    void vscode.commands.executeCommand('setContext', CONTEXT_NEXT_EDIT_VISIBLE, this.shown.length > 0);
    for (const editor of vscode.window.visibleTextEditors) {
      const document = editor.document;
      const sites = this.shownIn(document)?.sites ?? [];
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
  }

  // Tab: on a site, apply it; elsewhere, move the cursor to the next one, in another document
  // once this one has none after the cursor.
  async jumpOrApply(): Promise<void> {
    let editor = vscode.window.activeTextEditor;
    const current = this.shown.findIndex((d) => d.document === editor?.document);
    if (!editor || current < 0) return;
    const offset = editor.document.offsetAt(editor.selection.active);
    const here = siteAt(this.shown[current].sites, offset);
    if (here) return this.apply(editor, here);
    const target = nextSiteAcross(this.shown.map((d) => d.sites), current, offset);
    if (!target) return;
    if (target.document !== current) {
      this.jumping = true;
      try {
        editor = await vscode.window.showTextDocument(this.shown[target.document].document);
      } finally {
        this.jumping = false;
      }
    }
    const position = editor.document.positionAt(target.site.start);
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
    const shown = this.shownIn(document);
    if (!applied || !shown) return;
    shown.sites = afterApply(shown.sites, site);
    if (!this.shown.some((d) => d.sites.length > 0)) this.shown = [];
    const start = document.positionAt(site.start);
    editor.selection = new vscode.Selection(start, start);
    this.render();
    void this.client()?.sendRequest(ExecuteCommandRequest.type, { command: COMMAND_DID_ACCEPT_NEXT_EDIT, arguments: [site.id] }).catch(() => undefined);
  }

  // Escape, the user's next change, another editor: clear and report each shown site rejected.
  dismiss(): void {
    this.cancel();
    const shown = this.shown;
    this.shown = [];
    this.render();
    for (const site of shown.flatMap((d) => d.sites)) void this.client()?.sendNotification(NOTIFY_NEXT_EDIT_REJECTED, { id: site.id });
  }
}
