// The LanguageClient options the extension uses. Kept apart from extension.ts so the protocol
// test can build the very same options (and the capabilities vscode-languageclient derives from
// them) without a running VS Code.
import type { LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import { MaskfillSettings, serverCommand, toInitializationOptions } from './settings';

// Languages the server has tree-sitter grammars for (python javascript typescript tsx c cpp go rust java).
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

export function buildClientOptions(settings: MaskfillSettings, extra: Partial<LanguageClientOptions> = {}): LanguageClientOptions {
  return {
    documentSelector: documentSelector(),
    initializationOptions: toInitializationOptions(settings),
    // The server logs to stderr; keep it in the output channel but never pop it up on noise.
    revealOutputChannelOn: 4 /* RevealOutputChannelOn.Never */,
    middleware: {
      // The setting also gates requests client-side, so turning it off is immediate.
      provideInlineCompletionItems: (document, position, context, token, next) =>
        settings.inlineCompletionEnabled ? next(document, position, context, token) : undefined,
    },
    ...extra,
  };
}
