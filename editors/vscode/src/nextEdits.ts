// Next-edit suggestions, the parts without `vscode`: the protocol names, the answer's check,
// which site the cursor is on or goes to next, and how an applied site moves the others.
// Offsets are into the document's text (UTF-16 code units, as JS strings and VS Code's
// offsetAt/positionAt); nextEditController.ts does the drawing and the editing.
import { Range, isRange } from './requests';

export const METHOD_NEXT_EDITS = 'maskfill/nextEdits';
export const NOTIFY_NEXT_EDIT_SHOWN = 'maskfill/didShowNextEdit';
export const NOTIFY_NEXT_EDIT_REJECTED = 'maskfill/didRejectNextEdit';
export const COMMAND_DID_ACCEPT_NEXT_EDIT = 'maskfill.didAcceptNextEdit';
export const COMMAND_NEXT_EDIT_JUMP_OR_APPLY = 'maskfill.nextEdit.jumpOrApply';
export const COMMAND_NEXT_EDIT_DISMISS = 'maskfill.nextEdit.dismiss';
// The keybindings' when-clause key (not dotted like a command name: the protocol check reads those).
export const CONTEXT_NEXT_EDIT_VISIBLE = 'maskfillNextEditVisible';

// `uri`: the document the edit is in, when the server names one (a rename's uses in other open
// documents, or in workspace files not open); `version`: the version of it the server saw, null
// for a file the server read from disk; `oldText`: what the range held in the text the server saw.
export interface NextEdit { id: string; range: Range; newText: string; uri?: string; version?: number | null; oldText?: string }

// The maskfill/nextEdits answer's edits; throws on a malformed answer.
export function parseNextEdits(result: unknown): NextEdit[] {
  const r = result as { edits?: unknown };
  if (typeof r !== 'object' || r === null || !Array.isArray(r.edits)) throw new Error(`malformed maskfill/nextEdits result: ${JSON.stringify(result)}`);
  return r.edits.map((e) => {
    const edit = e as NextEdit & { textDocument?: { uri?: unknown; version?: unknown } };
    const where = edit?.textDocument;
    if (!isRange(edit?.range) || typeof edit.newText !== 'string' || typeof edit.id !== 'string' ||
        (edit.oldText !== undefined && typeof edit.oldText !== 'string') ||
        (where !== undefined && (typeof where?.uri !== 'string' || (typeof where.version !== 'number' && where.version !== null))) ||
        (where?.version === null && typeof edit.oldText !== 'string')) {
      throw new Error(`malformed edit in maskfill/nextEdits result: ${JSON.stringify(e)}`);
    }
    const parsed: NextEdit = { id: edit.id, range: edit.range, newText: edit.newText };
    if (where) Object.assign(parsed, { uri: where.uri, version: where.version });
    if (edit.oldText !== undefined) parsed.oldText = edit.oldText;
    return parsed;
  });
}

// A site as shown: its id, where the old text is now, and what replaces it.
export interface Site { id: string; start: number; end: number; oldText: string; newText: string }

// The site the cursor is on (an empty site when the cursor is at it), else undefined.
export function siteAt(sites: readonly Site[], offset: number): Site | undefined {
  return sites.find((s) => (s.start <= offset && offset < s.end) || (s.start === s.end && offset === s.start));
}

// The first site starting after `offset`, wrapping to the first one.
export function nextSite(sites: readonly Site[], offset: number): Site | undefined {
  const sorted = [...sites].sort((a, b) => a.start - b.start);
  return sorted.find((s) => s.start > offset) ?? sorted[0];
}

// Where Tab goes from `offset` in document `current` of `documents` (each one's sites; the
// requested document first, then the other open ones): the next site after the cursor in this
// document, else the first site of the next document that has any, else back to this one's first.
export function nextSiteAcross(documents: readonly (readonly Site[])[], current: number, offset: number):
  { document: number; site: Site } | undefined {
  const here = [...documents[current] ?? []].sort((a, b) => a.start - b.start).find((s) => s.start > offset);
  if (here) return { document: current, site: here };
  for (let step = 1; step <= documents.length; ++step) {
    const index = (current + step) % documents.length;
    const site = nextSite(documents[index], -1);
    if (site) return { document: index, site };
  }
  return undefined;
}

// The sites left after `applied` was replaced by its new text: the applied one goes, the ones
// after it move by the change in length (sites never overlap).
export function afterApply(sites: readonly Site[], applied: Site): Site[] {
  const delta = applied.newText.length - (applied.end - applied.start);
  return sites
    .filter((s) => s.id !== applied.id)
    .map((s) => (s.start >= applied.end ? { ...s, start: s.start + delta, end: s.end + delta } : s));
}
