// Typing-speed load on `$MASKFILL_BUILD_DIR/maskfill lsp` over stdio: 2,000 didChange +
// textDocument/inlineCompletion pairs, half as steady typing and half in back-to-back bursts,
// while a cheap request is timed every 25 ms throughout. Prints a benchmark: cheap-request
// p50/p99/max, completions computed vs cancelled (-32800) vs failed, RSS before and after.
//
// It fails (exit 1) only on correctness: the server dies, a request is never answered or
// answered twice, or its copy of the document differs from ours at the end. Speed goals are
// reported, not asserted (benchmarks print numbers; they are not timed tests).
//
// Options (environment): MASKFILL_LOAD_PAIRS (default 2000), MASKFILL_LOAD_INTERVAL_MS (steady
// typing gap, default 15), MASKFILL_MODEL_DIR-less runs use models/maskfill-tiny when present.
'use strict';

const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');
const { RawServer, percentile, sleep } = require('../hostile/raw_client');

const root = path.resolve(__dirname, '../..');
const build = process.env.MASKFILL_BUILD_DIR;
if (!build) throw new Error('set MASKFILL_BUILD_DIR to the build folder holding maskfill');
const binary = path.resolve(build, 'maskfill');
const PAIRS = Number(process.env.MASKFILL_LOAD_PAIRS || 2000);
const INTERVAL_MS = Number(process.env.MASKFILL_LOAD_INTERVAL_MS || 15);
const PING_EVERY_MS = 25;
const BURST = 50;

const modelDir = path.join(root, 'models/maskfill-tiny');
const hasModel = fs.existsSync(path.join(modelDir, 'config.json'));

function sampleText() {
  const sample = path.join(root, 'samples/python/stats.py');
  if (fs.existsSync(sample)) return fs.readFileSync(sample, 'utf8');
  return 'import math\n\n\ndef mean(values):\n    return sum(values) / len(values)\n\n\n';
}

// What the user "types": code-like characters with line breaks, so positions move down the file.
const TYPED = 'total = compute(values, weight=2)  # é\u20ac\n    ';

// Our copy of the document, to check the server's at the end. Edits are in UTF-16 positions.
class ClientDocument {
  constructor(text) {
    this.lines = text.split('\n');
    this.line = Math.max(0, this.lines.length - 1);
    this.character = this.lines[this.line].length;
  }
  type(ch) {
    const start = { line: this.line, character: this.character };
    const current = this.lines[this.line];
    if (ch === '\n') {
      this.lines.splice(this.line, 1, current.slice(0, this.character), current.slice(this.character));
      this.line += 1;
      this.character = 0;
    } else {
      this.lines[this.line] = current.slice(0, this.character) + ch + current.slice(this.character);
      this.character += ch.length;  // JS string length = UTF-16 units
    }
    return { range: { start, end: start }, text: ch };
  }
  text() {
    return this.lines.join('\n');
  }
}

async function main() {
  const args = ['lsp', '--enable-test-methods', '--log-level', 'warn'];
  if (hasModel) args.push('--model', modelDir);
  const server = new RawServer(binary, args);
  await server.initialize({
    capabilities: { textDocument: { inlineCompletion: { dynamicRegistration: false } }, window: { workDoneProgress: false } },
  });
  const uri = 'file:///load/typing.py';
  const document = new ClientDocument(sampleText());
  let version = 1;
  await server.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version, text: document.text() } });

  // The cheap request: maskfill/status when the server has it, else an unknown method (still a
  // full round trip through the I/O thread's dispatch).
  const probe = await server.request('maskfill/status', {});
  const cheapMethod = probe.error && probe.error.code === -32601 ? 'maskfill/noSuchMethod' : 'maskfill/status';
  if (hasModel && cheapMethod === 'maskfill/status') {
    // Let the model load before measuring (status reports loading; a completion triggers it).
    await server.request('textDocument/inlineCompletion', { textDocument: { uri }, position: { line: document.line, character: document.character }, context: { triggerKind: 1 } }, 300000);
  }
  await sleep(300);
  const before = server.procStatus();

  const pingLatencies = [];
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      const started = performance.now();
      await server.request(cheapMethod, {}, 30000);
      pingLatencies.push(performance.now() - started);
      await sleep(PING_EVERY_MS);
    }
  })();

  const completionIds = [];
  const started = performance.now();
  for (let i = 0; i < PAIRS; ++i) {
    const change = document.type(TYPED[i % TYPED.length]);
    server.notify('textDocument/didChange', { textDocument: { uri, version: ++version }, contentChanges: [change] });
    completionIds.push(server.sendRequestNoWait('textDocument/inlineCompletion', {
      textDocument: { uri }, position: { line: document.line, character: document.character }, context: { triggerKind: 2 },
    }));
    const steady = i < PAIRS / 2;
    if (steady) await sleep(INTERVAL_MS);
    else if ((i + 1) % BURST === 0) await sleep(250);  // a burst (paste, fast typing), then a pause
    else if (i % 10 === 0) await new Promise((r) => setImmediate(r));  // keep the event loop (and pinger) moving
  }
  const typingMs = performance.now() - started;

  // Every completion must be answered exactly once.
  const answers = new Map();
  const waitAll = async (deadline) => {
    while (performance.now() < deadline) {
      answers.clear();
      for (const m of server.messages) if (m.method === undefined && typeof m.id === 'number') answers.set(m.id, (answers.get(m.id) || 0) + 1);
      if (completionIds.every((id) => answers.has(id))) return true;
      if (server.exitTime !== undefined) return false;
      await sleep(50);
    }
    return false;
  };
  const allAnswered = await waitAll(performance.now() + (hasModel ? 300000 : 30000));
  pinging = false;
  await pinger.catch(() => {});
  await sleep(500);
  const after = server.procStatus();

  let computed = 0, cancelled = 0, failed = 0, duplicates = 0, missing = 0;
  const errorKinds = new Map();
  const byId = new Map(server.messages.filter((m) => m.method === undefined).map((m) => [m.id, m]));
  for (const id of completionIds) {
    const count = answers.get(id) || 0;
    if (count === 0) { ++missing; continue; }
    if (count > 1) ++duplicates;
    const answer = byId.get(id);
    if (answer.error && answer.error.code === -32800) ++cancelled;
    else if (answer.error) {
      ++failed;
      const key = `${answer.error.code} ${answer.error.message.slice(0, 80)}`;
      errorKinds.set(key, (errorKinds.get(key) || 0) + 1);
    } else ++computed;
  }

  const debug = await server.request('maskfill/debugDocument', { uri }, 30000);
  const inSync = debug.result && debug.result.text === document.text();
  await server.request('shutdown');
  await server.notify('exit');
  const exit = await Promise.race([server.exited, sleep(5000).then(() => null)]);
  server.kill();

  pingLatencies.sort((a, b) => a - b);
  const p = (q) => percentile(pingLatencies, q).toFixed(2);
  const rssChange = ((after.rssKb - before.rssKb) / before.rssKb) * 100;
  console.log(`== bench load (typing at ${1000 / INTERVAL_MS | 0} chars/s then bursts of ${BURST}; ${hasModel ? 'model ' + path.relative(root, modelDir) : 'no model'})`);
  console.log(`pairs (didChange + inlineCompletion): ${PAIRS} in ${(typingMs / 1000).toFixed(1)} s`);
  console.log(`cheap request (${cheapMethod}): n=${pingLatencies.length} p50 ${p(50)} ms, p99 ${p(99)} ms, max ${pingLatencies.length ? pingLatencies[pingLatencies.length - 1].toFixed(2) : 'n/a'} ms  (goal p99 < 20 ms: ${percentile(pingLatencies, 99) < 20 ? 'met' : 'NOT met'})`);
  console.log(`completions: computed ${computed}, cancelled (-32800) ${cancelled}, failed ${failed}, unanswered ${missing}, answered twice ${duplicates}`);
  for (const [kind, count] of errorKinds) console.log(`  failed x${count}: ${kind}`);
  console.log(`RSS: ${(before.rssKb / 1024).toFixed(1)} MB before, ${(after.rssKb / 1024).toFixed(1)} MB after (${rssChange >= 0 ? '+' : ''}${rssChange.toFixed(1)}%; goal within 10%: ${Math.abs(rssChange) <= 10 ? 'met' : 'NOT met'}), peak ${(after.peakKb / 1024).toFixed(1)} MB`);
  console.log(`server copy of the document ${inSync ? 'matches' : 'DIFFERS from'} the client's; exit ${exit ? `code ${exit.code}` : 'timed out'}`);

  const problems = [];
  if (!allAnswered || missing) problems.push(`${missing} completions never answered`);
  if (duplicates) problems.push(`${duplicates} completions answered twice`);
  if (!inSync) problems.push('document out of sync');
  if (!exit || exit.signal || exit.code !== 0) problems.push(`bad exit ${JSON.stringify(exit)}`);
  if (problems.length) {
    console.log(`load: FAILED: ${problems.join('; ')}`);
    console.error(server.stderr.slice(-2000));
    process.exit(1);
  }
}

main().catch((e) => {
  console.error('load:', e);
  process.exit(1);
});
