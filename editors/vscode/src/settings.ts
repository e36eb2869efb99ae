// Settings → how to start the server and what to send as initializationOptions.
// Pure: no `vscode` import, so it is unit-tested under plain node.

export interface MaskfillSettings {
  serverPath: string;
  modelPath: string;
  device: string;
  dtype: string;
  inlineCompletionEnabled: boolean;
  debounceMs: number;
}

// What the server reads from `initialize` (issue 5: {modelPath, device, dtype, inlineCompletion}).
export interface InitializationOptions {
  modelPath?: string;
  device: string;
  dtype: string;
  inlineCompletion: { enabled: boolean; debounceMs: number };
}

export const DEFAULT_SETTINGS: MaskfillSettings = {
  serverPath: 'maskfill',
  modelPath: '',
  device: 'auto',
  dtype: 'auto',
  inlineCompletionEnabled: true,
  debounceMs: 150,
};

const MAX_DEBOUNCE_MS = 5000;

// `get(key)` is WorkspaceConfiguration.get for the "maskfill" section (or a fake in tests).
export function readSettings(get: (key: string) => unknown): MaskfillSettings {
  const text = (key: string, fallback: string): string => {
    const value = get(key);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : fallback;
  };
  const enabled = get('inlineCompletion.enabled');
  return {
    serverPath: text('serverPath', DEFAULT_SETTINGS.serverPath),
    modelPath: text('modelPath', ''),
    device: text('device', DEFAULT_SETTINGS.device),
    dtype: text('dtype', DEFAULT_SETTINGS.dtype),
    inlineCompletionEnabled: typeof enabled === 'boolean' ? enabled : DEFAULT_SETTINGS.inlineCompletionEnabled,
    debounceMs: clampDebounce(get('inlineCompletion.debounceMs')),
  };
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
  };
  // Empty means "server default" (bundled model or MASKFILL_MODEL_DIR), so leave it out.
  if (settings.modelPath) options.modelPath = settings.modelPath;
  return options;
}

// `maskfill lsp` over stdio; a bare name is resolved on PATH by the OS when spawned.
export function serverCommand(settings: MaskfillSettings): { command: string; args: string[] } {
  return { command: settings.serverPath, args: ['lsp'] };
}

// Settings that only take effect when the server restarts (they go in `initialize`).
export function needsRestart(before: MaskfillSettings, after: MaskfillSettings): boolean {
  return JSON.stringify(before) !== JSON.stringify(after);
}
