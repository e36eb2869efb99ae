// The esbuild bundle that goes into the .vsix loads with only `vscode` external.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { installVscodeStub } from './vscodeStub';

test('dist/extension.js loads and exports activate/deactivate', () => {
  installVscodeStub();
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const extension = require(path.resolve(__dirname, '../../dist/extension.js'));
  assert.equal(typeof extension.activate, 'function');
  assert.equal(typeof extension.deactivate, 'function');
});
