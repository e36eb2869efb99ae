// Broken model directories through `maskfill generate --model DIR` (the torch plugin): truncated
// or lying safetensors, wrong-shaped or missing tensors, broken tokenizer.json and config.json.
// Each must end in a clear error message and a non-zero exit, never a signal or a hang. The same
// directories are then given to `maskfill lsp` as initializationOptions.modelPath: the server
// must report the failure through maskfill/status and keep serving.
//
// Base directory: models/maskfill-tiny when it exists, else the parity fixture's tiny model with
// a 64-token tokenizer written here. The base must load, so each failure is the fault's doing.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { RawServer } = require('./raw_client');

const root = path.resolve(__dirname, '../..');
const build = path.resolve(process.env.MASKFILL_BUILD_DIR || path.join(root, 'build'));
const binary = path.join(build, 'maskfill');
const plugin = path.join(build, 'libmaskfill_torch.so');

if (!fs.existsSync(plugin)) {
  console.log(`model faults SKIPPED: ${plugin} is not built (MASKFILL_TORCH=OFF build); run with a torch build's MASKFILL_BUILD_DIR`);
  process.exit(0);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'maskfill-model-faults-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));

// ---- safetensors helpers ------------------------------------------------------------------------

function readSafetensors(file) {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  return { header, data: bytes.subarray(8 + headerLength) };
}

function writeSafetensors(file, header, data) {
  const text = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  fs.writeFileSync(file, Buffer.concat([length, text, data]));
}

function tensorNames(header) {
  return Object.keys(header).filter((name) => name !== '__metadata__');
}

// ---- the base directory ---------------------------------------------------------------------------

function tinyTokenizer(vocabSize) {
  const specials = ['<s>', '<pad>', '</s>', '<unk>', '<|fim_prefix|>', '<mask>'];
  const symbols = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('');
  const vocab = {};
  specials.forEach((token, id) => { vocab[token] = id; });
  for (let id = specials.length; id < vocabSize && id - specials.length < symbols.length; ++id) vocab[symbols[id - specials.length]] = id;
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
             fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
}

function makeBase() {
  const bundled = path.join(root, 'models/maskfill-tiny');
  const base = path.join(scratch, 'base');
  fs.mkdirSync(base);
  if (fs.existsSync(path.join(bundled, 'config.json'))) {
    for (const name of fs.readdirSync(bundled)) {
      if (fs.statSync(path.join(bundled, name)).isFile()) fs.copyFileSync(path.join(bundled, name), path.join(base, name));
    }
    return { base, origin: 'models/maskfill-tiny' };
  }
  const fixture = path.join(root, 'tests/fixtures/parity/tiny-f32');
  fs.copyFileSync(path.join(fixture, 'config.json'), path.join(base, 'config.json'));
  fs.copyFileSync(path.join(fixture, 'model.safetensors'), path.join(base, 'model.safetensors'));
  const config = JSON.parse(fs.readFileSync(path.join(base, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(base, 'tokenizer.json'), JSON.stringify(tinyTokenizer(config.vocab_size)));
  return { base, origin: 'tests/fixtures/parity/tiny-f32 + a 64-token tokenizer' };
}

function variant(base, name, mutate) {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir);
  for (const file of fs.readdirSync(base)) fs.copyFileSync(path.join(base, file), path.join(dir, file));
  mutate(dir);
  return dir;
}

function weightsFile(dir) {
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(single)) return single;
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  return path.join(dir, Object.values(index.weight_map)[0]);
}

function rewriteHeader(dir, change) {
  const file = weightsFile(dir);
  const { header, data } = readSafetensors(file);
  change(header);
  writeSafetensors(file, header, data);
}

function largestTensor(header) {
  return tensorNames(header).sort((a, b) => (header[b].data_offsets[1] - header[b].data_offsets[0]) - (header[a].data_offsets[1] - header[a].data_offsets[0]))[0];
}

const faults = [
  ['safetensors truncated to half', (dir) => { const f = weightsFile(dir); const b = fs.readFileSync(f); fs.writeFileSync(f, b.subarray(0, b.length >> 1)); }],
  ['safetensors truncated inside the header', (dir) => { const f = weightsFile(dir); fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 40)); }],
  ['safetensors of zero bytes', (dir) => fs.writeFileSync(weightsFile(dir), '')],
  ['safetensors header length 2^63', (dir) => { const f = weightsFile(dir); const b = fs.readFileSync(f); b.writeBigUInt64LE(1n << 63n); fs.writeFileSync(f, b); }],
  ['safetensors header length past the file', (dir) => { const f = weightsFile(dir); const b = fs.readFileSync(f); b.writeBigUInt64LE(BigInt(b.length)); fs.writeFileSync(f, b); }],
  ['safetensors header is not JSON', (dir) => { const f = weightsFile(dir); const b = fs.readFileSync(f); b.fill(0x7b, 8, 16); fs.writeFileSync(f, b); }],
  ['tensor data_offsets past the end of the file', (dir) => rewriteHeader(dir, (h) => { const t = largestTensor(h); h[t].data_offsets[1] += 1 << 20; })],
  ['tensors overlapping', (dir) => rewriteHeader(dir, (h) => { const [a, b] = tensorNames(h); h[b].data_offsets = h[a].data_offsets.slice(); h[b].shape = h[a].shape.slice(); h[b].dtype = h[a].dtype; })],
  ['tensor shape disagrees with its byte span', (dir) => rewriteHeader(dir, (h) => { const t = largestTensor(h); h[t].shape = h[t].shape.map((d) => d * 2); })],
  ['tensor with a negative dimension', (dir) => rewriteHeader(dir, (h) => { const t = largestTensor(h); h[t].shape = [-1, ...h[t].shape.slice(1)]; })],
  ['wrong-shaped tensor (transposed embedding)', (dir) => rewriteHeader(dir, (h) => { const t = tensorNames(h).find((n) => n.includes('embed_tokens')); h[t].shape = h[t].shape.slice().reverse(); })],
  ['tensor with an unknown dtype', (dir) => rewriteHeader(dir, (h) => { h[largestTensor(h)].dtype = 'F8_E4M3_X'; })],
  ['missing tensor', (dir) => rewriteHeader(dir, (h) => { const t = tensorNames(h).find((n) => n.includes('norm')); h[t + '.renamed'] = h[t]; delete h[t]; })],
  ['tokenizer.json truncated', (dir) => { const f = path.join(dir, 'tokenizer.json'); const b = fs.readFileSync(f); fs.writeFileSync(f, b.subarray(0, b.length >> 1)); }],
  ['tokenizer.json with an unsupported model type', (dir) => { const f = path.join(dir, 'tokenizer.json'); const t = JSON.parse(fs.readFileSync(f, 'utf8')); t.model.type = 'Unigram'; fs.writeFileSync(f, JSON.stringify(t)); }],
  ['tokenizer.json merges naming unknown tokens', (dir) => { const f = path.join(dir, 'tokenizer.json'); const t = JSON.parse(fs.readFileSync(f, 'utf8')); t.model.merges = ['\u00a7\u00a7 \u00b6\u00b6', ...t.model.merges]; fs.writeFileSync(f, JSON.stringify(t)); }],
  ['tokenizer.json with a bad pre-tokenizer regex', (dir) => { const f = path.join(dir, 'tokenizer.json'); const t = JSON.parse(fs.readFileSync(f, 'utf8')); t.pre_tokenizer = { type: 'Split', pattern: { Regex: '(unclosed' }, behavior: 'Isolated', invert: false }; fs.writeFileSync(f, JSON.stringify(t)); }],
  ['tokenizer.json larger than the model vocabulary', (dir) => { const f = path.join(dir, 'tokenizer.json'); const t = JSON.parse(fs.readFileSync(f, 'utf8')); t.added_tokens.push({ id: 1 << 20, content: '<huge>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false }); fs.writeFileSync(f, JSON.stringify(t)); }],
  ['tokenizer.json missing', (dir) => fs.unlinkSync(path.join(dir, 'tokenizer.json'))],
  ['config.json not JSON', (dir) => fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama",')],
  ['config.json with a trillion layers', (dir) => { const f = path.join(dir, 'config.json'); const c = JSON.parse(fs.readFileSync(f, 'utf8')); c.num_hidden_layers = 1e12; fs.writeFileSync(f, JSON.stringify(c)); }],
  ['config.json hidden_size disagreeing with the weights', (dir) => { const f = path.join(dir, 'config.json'); const c = JSON.parse(fs.readFileSync(f, 'utf8')); c.hidden_size *= 2; c.head_dim = c.hidden_size / c.num_attention_heads; fs.writeFileSync(f, JSON.stringify(c)); }],
];

// ---- running ------------------------------------------------------------------------------------

function generate(dir) {
  const started = Date.now();
  const run = spawnSync(binary, ['generate', '--model', dir, '--prompt', 'ab', '--device', 'cpu'], { encoding: 'utf8', timeout: 30000 });
  return { ...run, ms: Date.now() - started };
}

function firstErrorLine(stderr) {
  const lines = (stderr || '').split('\n').filter((l) => /error/i.test(l));
  return (lines[0] || (stderr || '').trim().split('\n').pop() || '').slice(0, 160);
}

async function lspStatus(dir) {
  const server = new RawServer(binary, ['lsp', '--log-level', 'off']);
  try {
    await server.initialize({ initializationOptions: { modelPath: dir, device: 'cpu' } });
    const probe = await server.request('maskfill/status', {});
    if (probe.error && probe.error.code === -32601) return { skipped: 'maskfill/status is not implemented' };
    // The model loads lazily or in the background: poll until status leaves "loading".
    let status = probe.result;
    for (let i = 0; i < 100 && status && /load/i.test(JSON.stringify(status.state || status.status || '')); ++i) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await server.request('maskfill/status', {})).result;
    }
    const ping = await server.request('maskfill/status', {});
    await server.request('shutdown');
    await server.notify('exit');
    const exit = await server.exited;
    return { status, alive: !!ping.result, exit };
  } finally {
    server.kill();
  }
}

async function main() {
  const { base, origin } = makeBase();
  console.log(`model faults: base ${origin}`);
  let failures = 0;
  const baseline = generate(base);
  if (baseline.status !== 0) {
    console.log(`FAIL base model does not load (exit ${baseline.status}, signal ${baseline.signal}): ${firstErrorLine(baseline.stderr)}`);
    process.exit(1);
  }
  console.log(`ok   base model generates (${baseline.ms} ms)`);
  const lspBase = await lspStatus(base);
  const lspEnabled = !lspBase.skipped;
  console.log(lspEnabled ? `ok   base model status over LSP: ${JSON.stringify(lspBase.status).slice(0, 120)}` : `LSP modelPath checks SKIPPED: ${lspBase.skipped}`);

  for (const [name, mutate] of faults) {
    const dir = variant(base, name.replace(/[^a-z0-9]+/gi, '-'), mutate);
    const run = generate(dir);
    const message = firstErrorLine(run.stderr);
    let ok = run.signal === null && run.status !== 0 && run.status !== null && message.length > 0 && !run.error;
    let detail = run.error && run.error.code === 'ETIMEDOUT' ? 'hung for 30 s (killed)' :
      run.signal ? `killed by ${run.signal}` : `exit ${run.status} in ${run.ms} ms: ${message}`;
    if (ok && lspEnabled) {
      const lsp = await lspStatus(dir);
      const text = JSON.stringify(lsp.status || {});
      const reportsError = /error|fail|invalid|cannot|missing/i.test(text);
      if (!lsp.alive || !reportsError || lsp.exit.signal) {
        ok = false;
        detail += `; LSP status ${text.slice(0, 120)}, alive ${lsp.alive}, exit ${JSON.stringify(lsp.exit)}`;
      } else {
        detail += '; LSP status reports it';
      }
    }
    if (!ok) ++failures;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} - ${detail}`);
  }
  console.log(`model faults: ${faults.length - failures}/${faults.length} handled`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error('model faults:', e);
  process.exit(1);
});
