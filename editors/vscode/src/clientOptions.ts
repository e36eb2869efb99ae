// The LanguageClient options the extension uses. Kept apart from extension.ts so the protocol
// test can build the very same options (and the capabilities vscode-languageclient derives from
// them) without a running VS Code.
import type { LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import { MaskfillSettings, serverCommand, toInitializationOptions } from './settings';

// Languages the server has tree-sitter grammars for (python javascript typescript tsx c cpp go rust java);
// the same list as `languages` in editors/protocol.json.
export const LANGUAGES = [
  'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'c', 'cpp', 'go', 'rust', 'java',
] as const;

export function documentSelector() {
  return LANGUAGES.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}

export function buildServerOptions(settings: MaskfillSettings): ServerOptions {
  const { command, args } = serverCommand(settings);
  return { command, args, options: { env: process.env } };
}

// What the extension adds around the server's commands (see requests.ts commandHandling).
export type ExecuteCommandHook = (command: string, args: unknown[], next: (command: string, args: unknown[]) => Promise<unknown>) => Promise<unknown>;

// `current` is read on every request, so toggling inline completion takes effect at once.
export function buildClientOptions(
  settings: MaskfillSettings | (() => MaskfillSettings),
  extra: Partial<LanguageClientOptions> = {},
  executeCommand?: ExecuteCommandHook,
): LanguageClientOptions {
  const current = typeof settings === 'function' ? settings : () => settings;
  return {
    documentSelector: documentSelector(),
    initializationOptions: toInitializationOptions(current()),
    // The server logs to stderr; keep it in the output channel but never pop it up on noise.
    revealOutputChannelOn: 4 /* RevealOutputChannelOn.Never */,
    middleware: {
      // The setting also gates requests client-side, so turning it off is immediate.
      provideInlineCompletionItems: (document, position, context, token, next) =>
        current().inlineCompletionEnabled || context.triggerKind === 0 /* Invoke */ ? next(document, position, context, token) : undefined,
      ...(executeCommand ? { executeCommand: (command: string, args: unknown[], next: (command: string, args: unknown[]) => Promise<unknown>) => executeCommand(command, args, next) } : {}),
    },
    ...extra,
  };
}
