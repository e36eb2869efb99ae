// Parameters and result checks for the maskfill-specific requests and commands. Pure (no `vscode`):
// positions and ranges here are LSP's (0-based line, UTF-16 character).

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }
export interface TextEdit { range: Range; newText: string }

export const METHOD_FILL = 'maskfill/fill';
export const METHOD_EDIT = 'maskfill/edit';
export const METHOD_STATUS = 'maskfill/status';
export const COMMAND_APPLY_INSTRUCTION = 'maskfill.applyInstruction';
export const COMMAND_FILL_SELECTION = 'maskfill.fillSelection';
export const COMMAND_RELOAD = 'maskfill.reload';
export const COMMAND_TOGGLE_INLINE = 'maskfill.toggleInlineCompletion';
export const COMMAND_EDIT_WITH_INSTRUCTION = 'maskfill.editWithInstruction';
export const COMMAND_DID_ACCEPT = 'maskfill.didAccept';

// The argument of `maskfill.editWithInstruction` (code action) and of our own palette command.
export interface EditTarget { uri: string; range: Range; version: number }

function isPosition(value: unknown): value is Position {
  const p = value as Position;
  return typeof p === 'object' && p !== null && Number.isInteger(p.line) && Number.isInteger(p.character) &&
    p.line >= 0 && p.character >= 0;
}

export function isRange(value: unknown): value is Range {
  const r = value as Range;
  return typeof r === 'object' && r !== null && isPosition(r.start) && isPosition(r.end);
}

// Code-action arguments come from the server; check them before showing any UI.
export function parseEditTarget(arg: unknown): EditTarget {
  const t = arg as EditTarget;
  if (typeof t !== 'object' || t === null) throw new Error('maskfill.editWithInstruction: missing argument {uri, range, version}');
  if (typeof t.uri !== 'string' || t.uri === '') throw new Error('maskfill.editWithInstruction: argument has no uri');
  if (!isRange(t.range)) throw new Error('maskfill.editWithInstruction: argument has no valid range');
  if (!Number.isInteger(t.version)) throw new Error('maskfill.editWithInstruction: argument has no integer version');
  return { uri: t.uri, range: t.range, version: t.version };
}

// For the input box: undefined = OK, otherwise the message to show.
export function validateInstruction(text: string): string | undefined {
  return text.trim() === '' ? 'Type what the code should become, e.g. "add error handling"' : undefined;
}

export function applyInstructionParams(target: EditTarget, instruction: string) {
  return {
    command: COMMAND_APPLY_INSTRUCTION,
    arguments: [{ uri: target.uri, range: target.range, version: target.version, instruction: instruction.trim() }],
  };
}

export function fillParams(uri: string, range: Range) {
  return { textDocument: { uri }, range };
}

export interface FillResult { edits: TextEdit[]; version: number }

// Checks a `maskfill/fill` / `maskfill/edit` answer against the document version it must apply to.
// Returns the edits, or throws with the reason (shape error or the document moved on).
export function checkFillResult(result: unknown, documentVersion: number): TextEdit[] {
  const r = result as FillResult;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.edits) || !Number.isInteger(r.version)) {
    throw new Error(`malformed maskfill/fill result: ${JSON.stringify(result)}`);
  }
  for (const edit of r.edits) {
    if (!isRange(edit?.range) || typeof edit.newText !== 'string') {
      throw new Error(`malformed TextEdit in maskfill/fill result: ${JSON.stringify(edit)}`);
    }
  }
  if (r.version !== documentVersion) {
    throw new Error(`the document changed while maskfill was working (version ${r.version} → ${documentVersion}); nothing applied`);
  }
  return r.edits;
}

// What the extension does when vscode-languageclient is about to send one of the server's
// commands (middleware.executeCommand). The server lists every command a code action can carry,
// so any client can run them; VS Code adds UI around two of them:
// - editWithInstruction without an instruction: ask for it, preview the edit, then apply;
// - fillSelection: show progress while the model runs.
export type CommandHandling = 'prompt' | 'progress' | 'send';
export function commandHandling(command: string, args: unknown[]): CommandHandling {
  if (command === COMMAND_EDIT_WITH_INSTRUCTION) {
    const arg = args[0] as { instruction?: unknown } | undefined;
    return typeof arg?.instruction === 'string' && arg.instruction.trim() !== '' ? 'progress' : 'prompt';
  }
  if (command === COMMAND_FILL_SELECTION || command === COMMAND_APPLY_INSTRUCTION) return 'progress';
  return 'send';
}

// The text after applying non-overlapping LSP edits (UTF-16 positions, as JS strings): the
// right-hand side of the diff preview.
export function applyEditsToText(text: string, edits: readonly TextEdit[]): string {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const offset = (p: Position) => {
    if (p.line >= starts.length) return text.length;
    const lineEnd = p.line + 1 < starts.length ? starts[p.line + 1] - 1 : text.length;
    return Math.min(starts[p.line] + p.character, lineEnd);
  };
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const edit of sorted) out = out.slice(0, offset(edit.range.start)) + edit.newText + out.slice(offset(edit.range.end));
  return out;
}

// `maskfill/edit` params for a target and instruction.
export function editParams(target: EditTarget, instruction: string) {
  return { textDocument: { uri: target.uri }, range: target.range, instruction: instruction.trim() };
}
