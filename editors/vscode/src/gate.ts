// When inline suggestions are shown, and what the status bar menu offers. Pure (no `vscode`),
// so both are unit-tested under plain node.

// `inlineCompletion.languages`: a language id → on/off, "*" for every other language.
export type LanguageSwitches = Record<string, boolean>;

export function languageEnabled(languages: LanguageSwitches, languageId: string): boolean {
  if (Object.prototype.hasOwnProperty.call(languages, languageId)) return languages[languageId];
  if (Object.prototype.hasOwnProperty.call(languages, '*')) return languages['*'];
  return true;
}

export interface GateInput {
  enabled: boolean; // inlineCompletion.enabled (user, workspace or folder scope)
  languages: LanguageSwitches;
  languageId: string;
  snoozedUntil: number | undefined; // epoch ms
  now: number;
  invoked: boolean; // the user asked (alt+\): a snooze or the master switch do not stop that
}

// Why no suggestion is asked for, or undefined when one is. A language switched off gets none
// even on request (as Copilot's per-language switch); snooze and the master switch only stop
// the automatic ones.
export function inlineBlocked(input: GateInput): string | undefined {
  if (!languageEnabled(input.languages, input.languageId)) return `off for ${input.languageId}`;
  if (input.invoked) return undefined;
  if (!input.enabled) return 'off';
  if (input.snoozedUntil !== undefined && input.now < input.snoozedUntil) return 'snoozed';
  return undefined;
}

export const SNOOZE_CHOICES_MINUTES = [5, 30] as const;

export type MenuAction =
  | { kind: 'snooze'; minutes: number }
  | { kind: 'resume' }
  | { kind: 'language'; languageId: string; enable: boolean }
  | { kind: 'workspace'; enable: boolean }
  | { kind: 'toggle' }
  | { kind: 'logs' }
  | { kind: 'restart' };

export interface MenuItem {
  label: string; // with a codicon
  description?: string;
  action: MenuAction;
}

export interface MenuState {
  enabled: boolean;
  snoozedUntil: number | undefined;
  now: number;
  languageId: string | undefined; // the active editor's, if any
  languages: LanguageSwitches;
  workspaceOpen: boolean;
  workspaceValue: boolean | undefined; // inlineCompletion.enabled at workspace scope, if set
}

function clock(epochMs: number): string {
  const at = new Date(epochMs);
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
}

export function menuItems(state: MenuState): MenuItem[] {
  const items: MenuItem[] = [];
  const snoozed = state.snoozedUntil !== undefined && state.now < state.snoozedUntil;
  if (snoozed) {
    items.push({ label: '$(play) Resume suggestions', description: `snoozed until ${clock(state.snoozedUntil as number)}`, action: { kind: 'resume' } });
  } else if (state.enabled) {
    for (const minutes of SNOOZE_CHOICES_MINUTES) {
      items.push({ label: `$(clock) Snooze for ${minutes} minutes`, action: { kind: 'snooze', minutes } });
    }
  }
  if (state.languageId) {
    const on = languageEnabled(state.languages, state.languageId);
    items.push({
      label: on ? `$(circle-slash) Disable for ${state.languageId}` : `$(check) Enable for ${state.languageId}`,
      action: { kind: 'language', languageId: state.languageId, enable: !on },
    });
  }
  if (state.workspaceOpen) {
    const off = state.workspaceValue === false;
    items.push({
      label: off ? '$(check) Enable in this workspace' : '$(circle-slash) Disable in this workspace',
      action: { kind: 'workspace', enable: off },
    });
  } else {
    items.push({ label: state.enabled ? '$(circle-slash) Disable suggestions' : '$(check) Enable suggestions', action: { kind: 'toggle' } });
  }
  items.push({ label: '$(output) Open logs', action: { kind: 'logs' } });
  items.push({ label: '$(debug-restart) Restart server', action: { kind: 'restart' } });
  return items;
}

// The status bar's note on top of the server state: "snoozed", "off", "off for markdown".
export function gateNote(input: Omit<GateInput, 'invoked'>): string | undefined {
  return inlineBlocked({ ...input, invoked: false });
}
