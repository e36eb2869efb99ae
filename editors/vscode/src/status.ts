// The `maskfill/status` payload → what the status bar item shows. Pure (no `vscode`).

export type ServerState = 'loading' | 'ready' | 'busy' | 'error';

export interface ServerStatus {
  state: ServerState;
  message?: string;
  model?: string;
  context?: { snippets: number; tokens: number }; // cross-file context of the latest prompt
}

const STATES: readonly ServerState[] = ['loading', 'ready', 'busy', 'error'];

// Validates what came over the wire; anything malformed becomes an error status that says so,
// so a protocol mismatch is visible to the user instead of silently ignored.
export function parseStatus(raw: unknown): ServerStatus {
  if (typeof raw !== 'object' || raw === null) {
    return { state: 'error', message: `malformed maskfill/status: ${JSON.stringify(raw)}` };
  }
  const record = raw as Record<string, unknown>;
  const state = record.state;
  if (typeof state !== 'string' || !STATES.includes(state as ServerState)) {
    return { state: 'error', message: `unknown maskfill/status state: ${JSON.stringify(state)}` };
  }
  const status: ServerStatus = { state: state as ServerState };
  if (typeof record.message === 'string' && record.message) status.message = record.message;
  if (typeof record.model === 'string' && record.model) status.model = record.model;
  const context = record.context as Record<string, unknown> | undefined;
  if (context && typeof context.snippets === 'number' && typeof context.tokens === 'number')
    status.context = { snippets: context.snippets, tokens: context.tokens };
  return status;
}

export interface StatusPresentation {
  text: string; // status bar text, with a codicon
  tooltip: string;
  isError: boolean;
}

const ICONS: Record<ServerState, string> = {
  loading: '$(sync~spin)',
  ready: '$(check)',
  busy: '$(loading~spin)',
  error: '$(error)',
};

// `gate`: why suggestions are not shown in the active editor ("snoozed", "off for markdown"),
// shown in place of a ready state and in the tooltip.
export function presentStatus(status: ServerStatus, gate?: string): StatusPresentation {
  // A remote backend shows in the item itself: "maskfill remote: http://gpu-box:8080".
  const remote = /^remote: (\S+)/.exec(status.model ?? '');
  const name = remote ? `maskfill remote: ${remote[1]}` : 'maskfill';
  const gated = gate !== undefined && status.state === 'ready';
  const label = gated ? `${name}: ${gate}` : status.state === 'ready' ? name : `${name}: ${status.state}`;
  const icon = gated ? (gate === 'snoozed' ? '$(clock)' : '$(circle-slash)') : ICONS[status.state];
  const lines = [`maskfill server: ${status.state}`];
  if (gate !== undefined) lines.push(`inline suggestions: ${gate}`);
  if (status.model) lines.push(`model: ${status.model}`);
  if (status.message) lines.push(status.message);
  if (status.context && status.context.snippets > 0)
    lines.push(`context: ${status.context.snippets} snippet${status.context.snippets === 1 ? '' : 's'} from other files (${status.context.tokens} tokens) in the last prompt`);
  lines.push('Click for the menu: snooze, per-language and workspace switches, logs, restart.');
  return { text: `${icon} ${label}`, tooltip: lines.join('\n'), isError: status.state === 'error' };
}

// Before the server answered at all.
export const STARTING: ServerStatus = { state: 'loading', message: 'starting maskfill lsp' };
