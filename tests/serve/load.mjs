// Load test for `maskfill serve` (loopback only, bounded): 8 simulated editors type through a
// line of a sample file each and ask for a fill-in-the-middle completion every two keystrokes,
// closed loop (the next keystroke waits for the answer), as `maskfill lsp --backend` would.
// The same requests run against a server batching across requests and one serving them one
// at a time (--max-batch 1), in one run. Prints p50/p99 latency, throughput and their ratio,
// mean batch size, prompt-cache hit rate and the server's RSS before and after (two rounds).
// Asserts only what does not depend on the machine's speed: every request answered, the same
// texts from both servers' first round... and RSS not growing between rounds beyond a bound.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { metrics, rssKiB, startServer } from './server.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const EDITORS = Number(process.env.MASKFILL_LOAD_EDITORS ?? 8);
const COMPLETIONS = Number(process.env.MASKFILL_LOAD_COMPLETIONS ?? 8);
const MAX_BATCH = Number(process.env.MASKFILL_LOAD_MAX_BATCH ?? 16);
const DEADLINE_MS = 600000;  // the whole test
const samples = ['python/stats.py', 'python/unfinished.py', 'javascript/event_emitter.js', 'typescript', 'go/wordcount.go',
  'rust', 'java/BoundedStack.java', 'c/ring_buffer.c', 'cpp/matrix.cpp'];

function sampleFiles() {
  const files = [];
  for (const entry of samples) {
    const full = path.join(root, 'samples', entry);
    if (!fs.existsSync(full)) continue;
    if (fs.statSync(full).isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) files.push(path.join(full, name));
    } else {
      files.push(full);
    }
  }
  return files.filter((f) => fs.statSync(f).isFile());
}

// Editor i's keystroke script: a non-blank line of its file, typed from its indentation on.
function script(i, files) {
  const text = fs.readFileSync(files[i % files.length], 'utf8');
  const lines = text.split('\n');
  const candidates = lines.map((l, n) => [l, n]).filter(([l]) => l.trim().length >= COMPLETIONS * 2 + 2);
  const [line, n] = candidates[(i * 7) % candidates.length];
  const before = lines.slice(0, n).join('\n') + (n ? '\n' : '');
  const after = '\n' + lines.slice(n + 1).join('\n');
  const indent = line.length - line.trimStart().length;
  const requests = [];
  for (let k = 1; k <= COMPLETIONS; k++) {
    const typed = line.slice(0, indent + 2 * k);
    requests.push({ prompt: before + typed, suffix: after });
  }
  return { file: path.relative(root, files[i % files.length]), requests };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function round(url, scripts) {
  const latencies = [];
  const texts = [];
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(scripts.map(async (s, editor) => {
    for (let k = 0; k < s.requests.length; k++) {
      const started = performance.now();
      const response = await fetch(`${url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'maskfill-tiny', ...s.requests[k], max_tokens: 16, temperature: 0, stop: ['\n'] }),
        signal: AbortSignal.timeout(120000),
      });
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      latencies.push(performance.now() - started);
      tokens += body.usage.completion_tokens;
      texts[editor * s.requests.length + k] = body.choices[0].text;
    }
  }));
  const wall = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return { wall, tokens, requests: latencies.length, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), texts };
}

async function serverFigures(url) {
  const { value } = await metrics(url);
  return {
    meanBatch: value('maskfill_batch_size_sum') / Math.max(1, value('maskfill_batch_size_count')),
    hitRate: value('maskfill_prompt_cache_hit_rate'),
    reuse: value('maskfill_prompt_cache_token_reuse_rate'),
    forwards: value('maskfill_forwards_total'),
  };
}

const fmt = (r) => `wall ${(r.wall / 1000).toFixed(2)} s, ${r.requests} requests, ${r.tokens} tokens, ` +
  `${(r.tokens / (r.wall / 1000)).toFixed(1)} tokens/s, ${(r.requests / (r.wall / 1000)).toFixed(2)} requests/s, ` +
  `latency p50 ${r.p50.toFixed(0)} ms p99 ${r.p99.toFixed(0)} ms`;

async function main() {
  const deadline = setTimeout(() => { console.error('serve-load: over the time bound'); process.exit(1); }, DEADLINE_MS);
  const files = sampleFiles();
  const scripts = Array.from({ length: EDITORS }, (_, i) => script(i, files));
  console.log(`serve-load: ${EDITORS} editors x ${COMPLETIONS} completions (FIM, max_tokens 16, stop at newline), files: ` +
    scripts.map((s) => s.file).join(', '));
  const warm = { requests: [{ prompt: 'def warm_up(x):\n    return ', suffix: '\n' }] };
  const report = {};

  const batched = await startServer(['--max-batch', String(MAX_BATCH)]);
  let first;
  try {
    await round(batched.url, [warm]);
    const rssBefore = await rssKiB(batched.child.pid);
    first = await round(batched.url, scripts);
    const rssAfter1 = await rssKiB(batched.child.pid);
    const second = await round(batched.url, scripts);
    const rssAfter2 = await rssKiB(batched.child.pid);
    const figures = await serverFigures(batched.url);
    console.log(`batched (--max-batch ${MAX_BATCH}), round 1: ${fmt(first)}`);
    console.log(`batched (--max-batch ${MAX_BATCH}), round 2: ${fmt(second)}`);
    console.log(`  mean batch size ${figures.meanBatch.toFixed(2)}, prompt cache hit rate ${figures.hitRate}, token reuse ${figures.reuse}`);
    console.log(`  server RSS: before ${(rssBefore / 1024).toFixed(0)} MiB, after round 1 ${(rssAfter1 / 1024).toFixed(0)} MiB, ` +
      `after round 2 ${(rssAfter2 / 1024).toFixed(0)} MiB`);
    report.batched = { ...first, texts: undefined, mean_batch: figures.meanBatch, prompt_cache_hit_rate: figures.hitRate };
    report.rss_kib = { before: rssBefore, after_round1: rssAfter1, after_round2: rssAfter2 };
    assert.deepEqual(second.texts, first.texts, 'the same requests give the same texts');
    // A leak guard, not a timing: the second identical round must not grow the process much.
    assert.ok(rssAfter2 <= rssAfter1 * 1.25 + 64 * 1024, `RSS grew from ${rssAfter1} to ${rssAfter2} KiB`);
  } finally {
    await batched.stop();
  }

  const single = await startServer(['--max-batch', '1']);
  try {
    await round(single.url, [warm]);
    const one = await round(single.url, scripts);
    const figures = await serverFigures(single.url);
    console.log(`one at a time (--max-batch 1): ${fmt(one)}`);
    console.log(`  mean batch size ${figures.meanBatch.toFixed(2)}`);
    const same = one.texts.filter((t, i) => t === first.texts[i]).length;
    console.log(`  identical texts to the batched run: ${same}/${one.texts.length}`);
    const ratio = (first.tokens / first.wall) / (one.tokens / one.wall);
    const requestRatio = (first.requests / first.wall) / (one.requests / one.wall);
    console.log(`throughput batched / one at a time: ${ratio.toFixed(2)}x tokens/s, ${requestRatio.toFixed(2)}x requests/s`);
    report.one_at_a_time = { ...one, texts: undefined };
    report.throughput_ratio = ratio;
    report.identical_texts = same;
  } finally {
    await single.stop();
  }
  console.log(`serve-load json: ${JSON.stringify(report)}`);
  clearTimeout(deadline);
}

main().catch((e) => { console.error(e); process.exit(1); });
