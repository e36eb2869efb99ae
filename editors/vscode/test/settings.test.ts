import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { clampDebounce, DEFAULT_SETTINGS, needsRestart, readSettings, serverCommand, serverSettingsChange, toInitializationOptions } from '../src/settings';

const fromMap = (values: Record<string, unknown>) => (key: string) => values[key];

test('defaults when nothing is set: maskfill on PATH, server-default model', () => {
  const settings = readSettings(fromMap({}));
  assert.deepEqual(settings, DEFAULT_SETTINGS);
  assert.deepEqual(serverCommand(settings), { command: 'maskfill', args: ['lsp'] });
  assert.deepEqual(toInitializationOptions(settings), {
    device: 'auto', dtype: 'auto', inlineCompletion: { enabled: true, debounceMs: 150 }, backend: { url: '', apiKeyFile: '' },
    context: { maxTokens: 1024, workspaceIndex: true }, nextEdit: { enabled: true, minConfidence: 0.5 },
  });
});

test('every setting reaches initializationOptions', () => {
  const settings = readSettings(fromMap({
    serverPath: ' /opt/maskfill/bin/maskfill ', modelPath: '/models/sdc-8b', device: 'cuda:1', dtype: 'bfloat16',
    'inlineCompletion.enabled': false, 'inlineCompletion.debounceMs': 80,
    'backend.url': ' http://gpu-box:8080 ', 'backend.apiKeyFile': '/home/me/.maskfill-key',
    'context.maxTokens': 512, 'context.workspaceIndex': false, 'nextEdit.enabled': false, 'nextEdit.minConfidence': 0.2,
  }));
  assert.deepEqual(serverCommand(settings), { command: '/opt/maskfill/bin/maskfill', args: ['lsp'] });
  assert.deepEqual(toInitializationOptions(settings), {
    modelPath: '/models/sdc-8b', device: 'cuda:1', dtype: 'bfloat16', inlineCompletion: { enabled: false, debounceMs: 80 },
    backend: { url: 'http://gpu-box:8080', apiKeyFile: '/home/me/.maskfill-key' },
    context: { maxTokens: 512, workspaceIndex: false }, nextEdit: { enabled: false, minConfidence: 0.2 },
  });
});

test('bad values fall back or are clamped', () => {
  const settings = readSettings(fromMap({ serverPath: '', device: 42, 'inlineCompletion.enabled': 'yes', 'inlineCompletion.debounceMs': -5 }));
  assert.equal(settings.serverPath, 'maskfill');
  assert.equal(settings.device, 'auto');
  assert.equal(settings.inlineCompletionEnabled, true);
  assert.equal(settings.debounceMs, 0);
  assert.equal(clampDebounce(99999), 5000);
  assert.equal(clampDebounce(12.6), 13);
  assert.equal(clampDebounce(Number.NaN), 150);
  assert.equal(clampDebounce('100'), 150);
  assert.equal(readSettings(fromMap({ 'context.maxTokens': 1e9 })).contextMaxTokens, 8192);
  assert.equal(readSettings(fromMap({ 'context.maxTokens': -1 })).contextMaxTokens, 0);
  assert.equal(readSettings(fromMap({ 'context.workspaceIndex': 'no' })).contextWorkspaceIndex, true);
  assert.equal(readSettings(fromMap({ 'nextEdit.enabled': 'no' })).nextEditEnabled, true);
  assert.equal(readSettings(fromMap({ 'nextEdit.minConfidence': 7 })).nextEditMinConfidence, 1);
  assert.equal(readSettings(fromMap({ 'nextEdit.minConfidence': -1 })).nextEditMinConfidence, 0);
  assert.equal(readSettings(fromMap({ 'nextEdit.minConfidence': 'high' })).nextEditMinConfidence, 0.5);
});

test('only a new server binary restarts the server; other changes are pushed to it', () => {
  const a = readSettings(fromMap({}));
  assert.equal(needsRestart(a, { ...a }), false);
  assert.equal(needsRestart(a, { ...a, serverPath: '/opt/maskfill' }), true);
  assert.equal(needsRestart(a, { ...a, dtype: 'float16' }), false);
  assert.equal(serverSettingsChange(a, { ...a }), undefined);
  assert.equal(serverSettingsChange(a, { ...a, previewInstructionEdits: false }), undefined); // client-only
  assert.deepEqual(serverSettingsChange(a, { ...a, debounceMs: 40 }), {
    maskfill: {
      modelPath: '', device: 'auto', dtype: 'auto', inlineCompletion: { enabled: true, debounceMs: 40 }, backend: { url: '', apiKeyFile: '' },
      context: { maxTokens: 1024, workspaceIndex: true }, nextEdit: { enabled: true, minConfidence: 0.5 },
    },
  });
  assert.deepEqual(serverSettingsChange(a, { ...a, backendUrl: 'http://gpu-box:8080' })?.maskfill.backend,
    { url: 'http://gpu-box:8080', apiKeyFile: '' }, 'a backend URL is pushed (the server reconnects)');
  const withModel = { ...a, modelPath: '/models/x' };
  assert.equal(serverSettingsChange(withModel, a)?.maskfill.modelPath, '', 'an emptied modelPath is sent as ""');
});

test('device accepts auto, cpu, cuda and cuda:N', () => {
  for (const device of ['auto', 'cpu', 'cuda', 'cuda:0', 'cuda:12']) assert.equal(readSettings(fromMap({ device })).device, device);
  for (const device of ['gpu', 'cuda:', 'cuda:x', 'CUDA']) assert.equal(readSettings(fromMap({ device })).device, 'auto');
});

test('inlineCompletion.languages keeps only boolean switches; anything else is the default', () => {
  assert.deepEqual(readSettings(fromMap({ 'inlineCompletion.languages': { '*': true, markdown: false, go: 'no' } })).inlineLanguages, { '*': true, markdown: false });
  assert.deepEqual(readSettings(fromMap({ 'inlineCompletion.languages': ['python'] })).inlineLanguages, { '*': true });
  assert.equal(JSON.stringify(toInitializationOptions(readSettings(fromMap({ 'inlineCompletion.languages': { python: false } })))).includes('python'), false, 'client-only: not sent');
});
