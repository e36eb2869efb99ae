// Settings → how to start the server and what to send as initializationOptions.
// Pure: no `vscode` import, so it is unit-tested under plain node.
import type { LanguageSwitches } from './gate';

// Names, types and defaults follow editors/protocol.json (tests/protocol/check-clients.js checks).
export interface MaskfillSettings {
  serverPath: string;
  modelPath: string;
  device: string;
  dtype: string;
  inlineCompletionEnabled: boolean;
  debounceMs: number;
  inlineLanguages: LanguageSwitches; // client-only: per-language switch, "*" for the rest
  previewInstructionEdits: boolean; // client-only: diff preview before an instruction edit lands
  backendUrl: string; // a shared model server (`maskfill serve`); empty: the model runs locally
  backendApiKeyFile: string;
  contextMaxTokens: number; // cross-file context budget in tokens; 0: none
  contextWorkspaceIndex: boolean;
  nextEditEnabled: boolean; // next-edit suggestions; off: the extension asks nothing, the server keeps no history
  nextEditMinConfidence: number; // a site is shown only when every token's confidence reaches this
}

// What the server reads from `initialize` and `workspace/didChangeConfiguration` (server settings
// of editors/protocol.json; client-only ones such as serverPath are not sent).
export interface InitializationOptions {
  modelPath?: string;
  device: string;
  dtype: string;
  inlineCompletion: { enabled: boolean; debounceMs: number };
  backend: { url: string; apiKeyFile: string };
  context: { maxTokens: number; workspaceIndex: boolean };
  nextEdit: { enabled: boolean; minConfidence: number };
}

export const DEFAULT_SETTINGS: MaskfillSettings = {
  serverPath: 'maskfill',
  modelPath: '',
  device: 'auto',
  dtype: 'auto',
  inlineCompletionEnabled: true,
  debounceMs: 150,
  inlineLanguages: { '*': true },
  previewInstructionEdits: true,
  backendUrl: '',
  backendApiKeyFile: '',
  contextMaxTokens: 1024,
  contextWorkspaceIndex: true,
  nextEditEnabled: true,
  nextEditMinConfidence: 0.5,
};

const DEVICE = /^(auto|cpu|cuda(:[0-9]+)?)$/;

const MAX_DEBOUNCE_MS = 5000;
const MAX_CONTEXT_TOKENS = 8192;

// `get(key)` is WorkspaceConfiguration.get for the "maskfill" section (or a fake in tests).
export function readSettings(get: (key: string) => unknown): MaskfillSettings {
  const text = (key: string, fallback: string): string => {
    const value = get(key);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : fallback;
  };
  const enabled = get('inlineCompletion.enabled');
  const preview = get('instructionEdit.preview');
  const device = text('device', DEFAULT_SETTINGS.device);
  return {
    serverPath: text('serverPath', DEFAULT_SETTINGS.serverPath),
    modelPath: text('modelPath', ''),
    device: DEVICE.test(device) ? device : DEFAULT_SETTINGS.device,
    dtype: text('dtype', DEFAULT_SETTINGS.dtype),
    inlineCompletionEnabled: typeof enabled === 'boolean' ? enabled : DEFAULT_SETTINGS.inlineCompletionEnabled,
    debounceMs: clampDebounce(get('inlineCompletion.debounceMs')),
    inlineLanguages: readLanguageSwitches(get('inlineCompletion.languages')),
    previewInstructionEdits: typeof preview === 'boolean' ? preview : DEFAULT_SETTINGS.previewInstructionEdits,
    backendUrl: text('backend.url', ''),
    backendApiKeyFile: text('backend.apiKeyFile', ''),
    contextMaxTokens: clampInteger(get('context.maxTokens'), 0, MAX_CONTEXT_TOKENS, DEFAULT_SETTINGS.contextMaxTokens),
    contextWorkspaceIndex:
      typeof get('context.workspaceIndex') === 'boolean'
        ? (get('context.workspaceIndex') as boolean)
        : DEFAULT_SETTINGS.contextWorkspaceIndex,
    nextEditEnabled:
      typeof get('nextEdit.enabled') === 'boolean' ? (get('nextEdit.enabled') as boolean) : DEFAULT_SETTINGS.nextEditEnabled,
    nextEditMinConfidence: clampNumber(get('nextEdit.minConfidence'), 0, 1, DEFAULT_SETTINGS.nextEditMinConfidence),
  };
}

// A hand-edited settings.json can hold anything: only boolean entries count.
function readLanguageSwitches(value: unknown): LanguageSwitches {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ...DEFAULT_SETTINGS.inlineLanguages };
  const switches: LanguageSwitches = {};
  for (const [language, on] of Object.entries(value as Record<string, unknown>)) {
    if (typeof on === 'boolean') switches[language] = on;
  }
  return switches;
}

function clampNumber(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

function clampInteger(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.round(value)));
}

// A hand-edited settings.json can hold anything; the server gets a sane integer.
export function clampDebounce(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return DEFAULT_SETTINGS.debounceMs;
  return Math.min(MAX_DEBOUNCE_MS, Math.max(0, Math.round(value)));
}

export function toInitializationOptions(settings: MaskfillSettings): InitializationOptions {
  const options: InitializationOptions = {
    device: settings.device,
    dtype: settings.dtype,
    inlineCompletion: { enabled: settings.inlineCompletionEnabled, debounceMs: settings.debounceMs },
    // Always sent, so that clearing the URL switches the server back to the local model.
    backend: { url: settings.backendUrl, apiKeyFile: settings.backendApiKeyFile },
    context: { maxTokens: settings.contextMaxTokens, workspaceIndex: settings.contextWorkspaceIndex },
    nextEdit: { enabled: settings.nextEditEnabled, minConfidence: settings.nextEditMinConfidence },
  };
  // Empty means "server default" (bundled model or MASKFILL_MODEL_DIR), so leave it out.
  if (settings.modelPath) options.modelPath = settings.modelPath;
  return options;
}

// `maskfill lsp` over stdio; a bare name is resolved on PATH by the OS when spawned.
export function serverCommand(settings: MaskfillSettings): { command: string; args: string[] } {
  return { command: settings.serverPath, args: ['lsp'] };
}

// Only a new binary needs a new server process. Everything else is pushed with
// workspace/didChangeConfiguration: the server applies budgets, threshold and debounce live and
// reloads the model itself when modelPath, device or dtype change.
export function needsRestart(before: MaskfillSettings, after: MaskfillSettings): boolean {
  return before.serverPath !== after.serverPath;
}

// The settings to push when the server should hear about a change (undefined: nothing to send).
export function serverSettingsChange(before: MaskfillSettings, after: MaskfillSettings): { maskfill: InitializationOptions } | undefined {
  const a = toInitializationOptions(before);
  const b = toInitializationOptions(after);
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  // An emptied modelPath goes back to the server's default, which must be said explicitly.
  return { maskfill: { ...b, modelPath: b.modelPath ?? '' } };
}
