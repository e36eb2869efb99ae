import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { gateNote, inlineBlocked, languageEnabled, menuItems, MenuState } from '../src/gate';

const base = { enabled: true, languages: { '*': true }, languageId: 'python', snoozedUntil: undefined, now: 1_000, invoked: false };

test('per-language switches: the language, then "*", then on', () => {
  assert.equal(languageEnabled({ '*': true, markdown: false }, 'markdown'), false);
  assert.equal(languageEnabled({ '*': false, python: true }, 'python'), true);
  assert.equal(languageEnabled({ '*': false }, 'go'), false);
  assert.equal(languageEnabled({}, 'go'), true);
  assert.equal(languageEnabled({ toString: false } as Record<string, boolean>, 'constructor'), true, 'no prototype lookups');
});

test('a switched-off language blocks even a request; snooze and the master switch only automatic ones', () => {
  assert.equal(inlineBlocked(base), undefined);
  assert.equal(inlineBlocked({ ...base, languages: { python: false } }), 'off for python');
  assert.equal(inlineBlocked({ ...base, languages: { python: false }, invoked: true }), 'off for python');
  assert.equal(inlineBlocked({ ...base, snoozedUntil: 2_000 }), 'snoozed');
  assert.equal(inlineBlocked({ ...base, snoozedUntil: 2_000, invoked: true }), undefined);
  assert.equal(inlineBlocked({ ...base, snoozedUntil: 1_000 }), undefined, 'a snooze ends at its time');
  assert.equal(inlineBlocked({ ...base, enabled: false }), 'off');
  assert.equal(inlineBlocked({ ...base, enabled: false, invoked: true }), undefined);
  assert.equal(gateNote({ ...base, snoozedUntil: 5_000 }), 'snoozed');
});

const menu: MenuState = { enabled: true, snoozedUntil: undefined, now: 1_000, languageId: 'python', languages: { '*': true }, workspaceOpen: true, workspaceValue: undefined };
const labels = (state: MenuState) => menuItems(state).map((item) => item.label);

test('the menu: snooze, language, workspace, logs, restart', () => {
  assert.deepEqual(labels(menu), [
    '$(clock) Snooze for 5 minutes', '$(clock) Snooze for 30 minutes', '$(circle-slash) Disable for python',
    '$(circle-slash) Disable in this workspace', '$(output) Open logs', '$(debug-restart) Restart server',
  ]);
  assert.deepEqual(menuItems(menu)[1].action, { kind: 'snooze', minutes: 30 });
  assert.deepEqual(menuItems(menu)[2].action, { kind: 'language', languageId: 'python', enable: false });
});

test('the menu follows the state: snoozed, language off, workspace off, no workspace, no editor', () => {
  const snoozed = menuItems({ ...menu, snoozedUntil: 61_000 });
  assert.equal(snoozed[0].label, '$(play) Resume suggestions');
  assert.match(snoozed[0].description ?? '', /^snoozed until \d\d:\d\d$/);
  assert.ok(!snoozed.some((item) => item.action.kind === 'snooze'));
  assert.ok(labels({ ...menu, languages: { python: false } }).includes('$(check) Enable for python'));
  assert.ok(labels({ ...menu, workspaceValue: false }).includes('$(check) Enable in this workspace'));
  const noWorkspace = labels({ ...menu, workspaceOpen: false });
  assert.ok(noWorkspace.includes('$(circle-slash) Disable suggestions') && !noWorkspace.some((l) => l.includes('workspace')));
  assert.ok(!labels({ ...menu, languageId: undefined }).some((l) => l.includes('python')));
});
