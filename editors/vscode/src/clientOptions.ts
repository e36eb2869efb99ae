// The LanguageClient options the extension uses. Kept apart from extension.ts so the protocol
// test can build the very same options (and the capabilities vscode-languageclient derives from
// them) without a running VS Code.
import type { LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import { inlineBlocked } from './gate';
import { MaskfillSettings, serverCommand, toInitializationOptions } from './settings';

// Languages the server has tree-sitter grammars for (python javascript typescript tsx c cpp go rust java);
// the same list as `languages` in editors/protocol.json.
export const LANGUAGES = [
  'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'c', 'cpp', 'go', 'rust', 'java',
] as const;

// Files, unsaved editors and notebook cells (each cell is a text document of its own; the other
// cells reach the prompt as open documents).
export function documentSelector() {
  return LANGUAGES.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
    { scheme: 'vscode-notebook-cell', language },
  ]);
}

export function buildServerOptions(settings: MaskfillSettings): ServerOptions {
  const { command, args } = serverCommand(settings);
  return { command, args, options: { env: process.env } };
}

// What the extension adds around the server's commands (see requests.ts commandHandling).
export type ExecuteCommandHook = (command: string, args: unknown[], next: (command: string, args: unknown[]) => Promise<unknown>) => Promise<unknown>;

// `current` and `snoozedUntil` are read on every request, so a toggle, a per-language switch or
// a snooze takes effect at once.
export function buildClientOptions(
  settings: MaskfillSettings | (() => MaskfillSettings),
  extra: Partial<LanguageClientOptions> = {},
  executeCommand?: ExecuteCommandHook,
  snoozedUntil: () => number | undefined = () => undefined,
): LanguageClientOptions {
  const current = typeof settings === 'function' ? settings : () => settings;
  const blocked = (languageId: string, invoked: boolean) => {
    const s = current();
    return inlineBlocked({
      enabled: s.inlineCompletionEnabled, languages: s.inlineLanguages, languageId, snoozedUntil: snoozedUntil(), now: Date.now(), invoked,
    }) !== undefined;
  };
  return {
    documentSelector: documentSelector(),
    initializationOptions: toInitializationOptions(current()),
    // The server logs to stderr; keep it in the output channel but never pop it up on noise.
    revealOutputChannelOn: 4 /* RevealOutputChannelOn.Never */,
    middleware: {
      // The settings and the snooze gate requests client-side, so turning them off is immediate.
      provideInlineCompletionItems: (document, position, context, token, next) =>
        blocked(document.languageId, context.triggerKind === 0 /* Invoke */) ? undefined : next(document, position, context, token),
      ...(executeCommand ? { executeCommand: (command: string, args: unknown[], next: (command: string, args: unknown[]) => Promise<unknown>) => executeCommand(command, args, next) } : {}),
    },
    ...extra,
  };
}
