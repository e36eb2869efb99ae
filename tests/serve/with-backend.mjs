// Runs an LSP test suite against `maskfill lsp --backend URL`: starts `maskfill serve` on a free
// loopback port, puts a `maskfill` wrapper that adds `--backend URL` in a temporary folder, runs
// the given command with MASKFILL_BUILD_DIR pointing there, and checks that the language server
// really used the backend (its status names it, and the server counted the completions).
//   node with-backend.mjs node ../e2e/features.test.js
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binary, metrics, startServer } from './server.mjs';

const [command, ...args] = process.argv.slice(2);
const server = await startServer(['--max-batch', '8']);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskfill-backend-'));
let code = 1;
try {
  const wrapper = path.join(dir, 'maskfill');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${binary}' "$@" --backend '${server.url}'\n`, { mode: 0o755 });
  // No local model to fall back on: the features can only work through the backend.
  const env = { ...process.env, MASKFILL_BUILD_DIR: dir, MASKFILL_MODEL_DIR: path.join(dir, 'no-model-here') };
  let output = '';
  code = await new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (chunk) => { output += chunk; process.stdout.write(chunk); });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code === 0) {
    assert.match(output, /remote: http:\/\/127\.0\.0\.1:\d+/, 'the language server status names the backend');
    const { text } = await metrics(server.url);
    const served = /maskfill_http_requests_total\{code="200",endpoint="\/v1\/completions"\} (\d+)/.exec(text);
    assert.ok(served && Number(served[1]) > 0, 'the backend served the completions');
    console.log(`with-backend: the language server used ${server.url} (${served[1]} completions served there)`);
  }
} finally {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
