import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseStatus, presentStatus } from '../src/status';

test('each state has its own icon and label', () => {
  assert.deepEqual(presentStatus(parseStatus({ state: 'ready', model: 'maskfill-tiny on cpu/float32' })), {
    text: '$(check) maskfill',
    tooltip: 'maskfill server: ready\nmodel: maskfill-tiny on cpu/float32\nClick for the menu: snooze, per-language and workspace switches, logs, restart.',
    isError: false,
  });
  assert.equal(presentStatus(parseStatus({ state: 'loading' })).text, '$(sync~spin) maskfill: loading');
  assert.equal(presentStatus(parseStatus({ state: 'busy' })).text, '$(loading~spin) maskfill: busy');
  const error = presentStatus(parseStatus({ state: 'error', message: 'no model at /x' }));
  assert.equal(error.text, '$(error) maskfill: error');
  assert.equal(error.isError, true);
  assert.match(error.tooltip, /no model at \/x/);
});

test('the tooltip says how many context snippets the last prompt used', () => {
  const ready = presentStatus(parseStatus({ state: 'ready', context: { snippets: 3, tokens: 210 } }));
  assert.match(ready.tooltip, /context: 3 snippets from other files \(210 tokens\) in the last prompt/);
  assert.doesNotMatch(presentStatus(parseStatus({ state: 'ready', context: { snippets: 0, tokens: 0 } })).tooltip, /context/);
  assert.equal(parseStatus({ state: 'ready', context: { snippets: 'x' } }).context, undefined);
});

test('a remote backend is named in the item', () => {
  const ready = presentStatus(parseStatus({ state: 'ready', model: 'remote: http://gpu-box:8080 (maskfill-tiny on cpu/float32)' }));
  assert.equal(ready.text, '$(check) maskfill remote: http://gpu-box:8080');
  const failing = presentStatus(parseStatus({ state: 'error', model: 'remote: http://gpu-box:8080 (x)', message: 'timed out' }));
  assert.equal(failing.text, '$(error) maskfill remote: http://gpu-box:8080: error');
  assert.match(failing.tooltip, /timed out/);
});

test('malformed payloads become visible errors', () => {
  assert.deepEqual(parseStatus(null), { state: 'error', message: 'malformed maskfill/status: null' });
  assert.deepEqual(parseStatus({ state: 'sleeping' }), { state: 'error', message: 'unknown maskfill/status state: "sleeping"' });
  assert.deepEqual(parseStatus({ state: 'ready', message: 7, model: '' }), { state: 'ready' });
});

test('a snooze or a switched-off language shows in the item while the server is ready', () => {
  const snoozed = presentStatus(parseStatus({ state: 'ready' }), 'snoozed');
  assert.equal(snoozed.text, '$(clock) maskfill: snoozed');
  assert.match(snoozed.tooltip, /inline suggestions: snoozed/);
  assert.equal(presentStatus(parseStatus({ state: 'ready' }), 'off for markdown').text, '$(circle-slash) maskfill: off for markdown');
  assert.equal(presentStatus(parseStatus({ state: 'error' }), 'snoozed').text, '$(error) maskfill: error', 'an error wins');
});
