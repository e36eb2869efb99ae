// Faults around the session rather than its content: the client disappears (stdin EOF, closed
// TCP socket) -> the server exits promptly with no thread left behind, even with a 30 s task
// running on the worker (it exits in milliseconds when idle; the bound below is 10 s so that a
// loaded machine cannot fail it, and each case prints what it measured); --listen refuses non-loopback addresses unless --allow-remote; and the
// server writes no file anywhere except its log (fresh HOME, cwd and TMPDIR must stay empty).
'use strict';

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { RawServer, frame, sleep } = require('./raw_client');

const build = process.env.MASKFILL_BUILD_DIR;
if (!build) throw new Error('set MASKFILL_BUILD_DIR to the build folder holding maskfill');
const binary = path.resolve(build, 'maskfill');
const slow = process.env.MASKFILL_HOSTILE_SANITIZED === '1' ? 3 : 1;
// Idle figure: ~10-50 ms. The bound only has to tell "exits at once" from "waits for the 30 s
// worker task or hangs", so it is far above that figure.
const EXIT_WITHIN_MS = 10000 * slow;

let failures = 0;
let total = 0;
async function check(name, body) {
  ++total;
  try {
    const detail = await body();
    console.log(`ok   ${name}${detail ? ' - ' + detail : ''}`);
  } catch (e) {
    ++failures;
    console.log(`FAIL ${name} - ${e.message}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

function threadCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).length;
  } catch (e) {
    return 0;
  }
}

// Starts a long task on the worker (maskfill/debugWait) when the server has it, so "exit
// promptly" also covers a busy worker; returns whether it did.
async function occupyWorker(server) {
  const id = server.sendRequestNoWait('maskfill/debugWait', { ms: 30000 });
  await sleep(100);
  const answer = server.messages.find((m) => m.id === id);
  return !(answer && answer.error && answer.error.code === -32601);
}

async function eofCase(name, prepare) {
  await check(name, async () => {
    const server = new RawServer(binary, ['lsp', '--enable-test-methods', '--log-level', 'warn']);
    await server.initialize();
    const busy = await occupyWorker(server);
    const threads = threadCount(server.pid);
    if (prepare) await prepare(server);
    const closedAt = Date.now();
    server.closeInput();
    const exited = await Promise.race([server.exited, sleep(EXIT_WITHIN_MS * 2).then(() => null)]);
    server.kill();
    expect(exited, `still running ${EXIT_WITHIN_MS * 2} ms after EOF (threads: ${threadCount(server.pid)})`);
    const ms = server.exitTime - closedAt;
    expect(exited.signal === null, `died by ${exited.signal}: ${server.stderr.slice(-500)}`);
    expect(ms <= EXIT_WITHIN_MS, `exited ${ms} ms after EOF (limit ${EXIT_WITHIN_MS} ms)`);
    return `exit code ${exited.code}, measured ${ms} ms after EOF (bound ${EXIT_WITHIN_MS} ms); ${threads} threads before EOF${busy ? ', worker busy' : ''}`;
  });
}

function listen(args) {
  const child = spawn(binary, ['lsp', '--enable-test-methods', '--log-level', 'info', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const address = new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString();
      const match = /listening on (\S+):(\d+)/.exec(stderr);
      if (match) resolve({ host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]) });
    });
    exited.then(() => reject(new Error(`exited before listening: ${stderr.trim().split('\n').pop()}`)));
  });
  return { child, exited, address, stderr: () => stderr };
}

async function tcpCase() {
  await check('TCP client closes its socket: prompt exit', async () => {
    const server = listen(['--listen', '127.0.0.1:0']);
    try {
      const { host, port } = await server.address;
      const socket = net.connect(port, host);
      await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
      let received = Buffer.alloc(0);
      const initialized = new Promise((resolve) => socket.on('data', (d) => { received = Buffer.concat([received, d]); if (received.includes('"capabilities"')) resolve(); }));
      socket.write(frame({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { capabilities: {} } }));
      await Promise.race([initialized, sleep(10000)]);
      expect(received.includes('"capabilities"'), 'no initialize result over TCP');
      socket.write(frame({ jsonrpc: '2.0', method: 'initialized', params: {} }));
      socket.write(frame({ jsonrpc: '2.0', id: 2, method: 'maskfill/debugWait', params: { ms: 30000 } }));
      await sleep(100);
      const threads = threadCount(server.child.pid);
      const closedAt = Date.now();
      socket.destroy();
      const exited = await Promise.race([server.exited, sleep(EXIT_WITHIN_MS * 2).then(() => null)]);
      expect(exited, `still running ${EXIT_WITHIN_MS * 2} ms after the socket closed`);
      expect(exited.signal === null, `died by ${exited.signal}`);
      expect(exited.at - closedAt <= EXIT_WITHIN_MS, `exited ${exited.at - closedAt} ms after the socket closed`);
      return `exit code ${exited.code}, measured ${exited.at - closedAt} ms after the socket closed (bound ${EXIT_WITHIN_MS} ms); ${threads} threads before`;
    } finally {
      server.child.kill('SIGKILL');
    }
  });
}

async function listenAddressCases() {
  for (const address of ['0.0.0.0:0', '[::]:0']) {
    await check(`--listen ${address} refused without --allow-remote`, async () => {
      const run = spawnSync(binary, ['lsp', '--listen', address], { encoding: 'utf8', timeout: 10000 });
      expect(run.status !== 0 && run.signal === null, `exit ${run.status}, signal ${run.signal}`);
      expect(/loopback|remote/i.test(run.stderr), `no clear message: ${run.stderr.slice(0, 200)}`);
      return `exit ${run.status}: ${run.stderr.trim().split('\n').pop().slice(0, 100)}`;
    });
  }
  await check('--listen 0.0.0.0:0 --allow-remote listens', async () => {
    const server = listen(['--listen', '0.0.0.0:0', '--allow-remote']);
    try {
      const { port } = await Promise.race([server.address, sleep(10000).then(() => { throw new Error('did not listen'); })]);
      return `listening on port ${port}`;
    } finally {
      server.child.kill('SIGKILL');
    }
  });
  for (const address of ['127.0.0.1:0', 'localhost:0', '[::1]:0']) {
    await check(`--listen ${address} accepted`, async () => {
      const server = listen(['--listen', address]);
      try {
        await Promise.race([server.address, sleep(10000).then(() => { throw new Error('did not listen'); })]);
        return 'listening';
      } finally {
        server.child.kill('SIGKILL');
      }
    });
  }
  for (const address of ['not-an-address:1', '127.0.0.1:99999', '127.0.0.1', '10.0.0.1:x']) {
    await check(`--listen ${address} rejected with a message`, async () => {
      const run = spawnSync(binary, ['lsp', '--listen', address], { encoding: 'utf8', timeout: 10000 });
      expect(run.status !== 0 && run.signal === null, `exit ${run.status}, signal ${run.signal}`);
      return `exit ${run.status}: ${run.stderr.trim().split('\n').pop().slice(0, 100)}`;
    });
  }
}

function listTree(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    out.push(full);
    if (entry.isDirectory()) out.push(...listTree(full));
  }
  return out;
}

async function noFilesCase(withLog) {
  await check(`writes no files${withLog ? ' except --log-file' : ''} (fresh HOME, cwd, TMPDIR)`, async () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'maskfill-nofiles-'));
    const dirs = ['home', 'cwd', 'tmp', 'xdg'].map((d) => path.join(scratch, d));
    dirs.forEach((d) => fs.mkdirSync(d));
    const [home, cwd, tmp, xdg] = dirs;
    const log = path.join(tmp, 'maskfill.log');
    try {
      const env = { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, XDG_CACHE_HOME: path.join(xdg, 'cache'),
                    XDG_CONFIG_HOME: path.join(xdg, 'config'), XDG_DATA_HOME: path.join(xdg, 'data'), XDG_STATE_HOME: path.join(xdg, 'state') };
      for (const key of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[key]) env[key] = process.env[key];
      const args = ['lsp', ...(withLog ? ['--log-file', log, '--log-level', 'debug'] : [])];
      const server = new RawServer(binary, args, { env, cwd });
      await server.initialize({ rootUri: `file://${cwd}`, workspaceFolders: [{ uri: `file://${cwd}`, name: 'w' }] });
      const uri = `file://${cwd}/a.py`;
      await server.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text: 'def f():\n    return 1\n' } });
      await server.notify('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ range: { start: { line: 1, character: 4 }, end: { line: 1, character: 10 } }, text: 'pass' }] });
      await server.notify('textDocument/didSave', { textDocument: { uri } });
      await server.request('textDocument/inlineCompletion', { textDocument: { uri }, position: { line: 1, character: 8 }, context: { triggerKind: 1 } }, 30000);
      await server.request('maskfill/status', {});
      await server.request('shutdown');
      await server.notify('exit');
      await server.exited;
      const created = listTree(scratch).filter((p) => !dirs.includes(p) && !(withLog && p === log));
      expect(created.length === 0, `created ${created.map((p) => path.relative(scratch, p)).join(', ')}`);
      if (withLog) expect(fs.existsSync(log) && fs.statSync(log).size > 0, 'the log file is missing or empty');
      return withLog ? `only the log (${fs.statSync(log).size} bytes)` : 'nothing created';
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
}

async function main() {
  await eofCase('stdin EOF after initialize: prompt exit, no orphan threads');
  await eofCase('stdin EOF in the middle of a frame', (server) => server.writeRaw(Buffer.from('Content-Length: 100\r\n\r\n{"jsonrpc"')));
  await check('stdin EOF before initialize', async () => {
    const server = new RawServer(binary, ['lsp']);
    const closedAt = Date.now();
    server.closeInput();
    const exited = await Promise.race([server.exited, sleep(EXIT_WITHIN_MS * 2).then(() => null)]);
    server.kill();
    expect(exited && exited.signal === null, 'did not exit cleanly');
    expect(server.exitTime - closedAt <= EXIT_WITHIN_MS, `took ${server.exitTime - closedAt} ms (bound ${EXIT_WITHIN_MS} ms)`);
    return `exit code ${exited.code}, measured ${server.exitTime - closedAt} ms (bound ${EXIT_WITHIN_MS} ms)`;
  });
  await check('stdout closed by the client (write errors) does not crash', async () => {
    const server = new RawServer(binary, ['lsp', '--log-level', 'off']);
    await server.initialize();
    server.child.stdout.destroy();
    for (let i = 0; i < 50; ++i) await server.send({ jsonrpc: '2.0', id: 100 + i, method: 'maskfill/noSuchMethod' });
    server.closeInput();
    const exited = await Promise.race([server.exited, sleep(5000).then(() => null)]);
    server.kill();
    expect(exited && exited.signal === null, `ended by ${exited ? exited.signal : 'timeout'}`);
    return `exit code ${exited.code}`;
  });
  await tcpCase();
  await listenAddressCases();
  await noFilesCase(false);
  await noFilesCase(true);
  console.log(`faults: ${total - failures}/${total} cases passed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error('faults:', e);
  process.exit(1);
});
