// Connection-flood benchmark for `maskfill serve` (issue #23), loopback only; run by
// scripts/bench-serve-conns.sh, not by the test command (its numbers depend on the machine).
//  (a) the p99 latency of a keyed completion with the server idle, then while TRICKLERS sockets
//      each send one byte of a request head every TRICKLE_MS (reconnecting when the header
//      timeout cuts them, as an attacker would); goal: ratio <= 2;
//  (b) IDLE connections held open at once (from 127.0.0.2.., at most 200 per address, so the
//      per-address cap is not what refuses them), then keyed requests; goal: no 503 to them.
// Prints one JSON object on stdout; progress goes to stderr.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rssKiB, startServer } from './server.mjs';

const TRICKLERS = Number(process.env.MASKFILL_BENCH_TRICKLERS ?? 1000);
const TRICKLE_MS = Number(process.env.MASKFILL_BENCH_TRICKLE_MS ?? 3000);
const IDLE = Number(process.env.MASKFILL_BENCH_IDLE ?? 10000);
const SAMPLES = Number(process.env.MASKFILL_BENCH_SAMPLES ?? 60);
const PER_ADDRESS = 200;
const KEY = 'bench-key-0123456789abcdef';

const log = (...args) => console.error('bench-serve-conns:', ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const source = (i) => `127.0.0.${2 + Math.floor(i / PER_ADDRESS)}`;  // 127.0.0.0/8 is all loopback

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

// One keyed request on a fresh connection: {status, ms}.
function keyed(url, route, body) {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    const request = http.request({
      hostname, port, path: route, method: body ? 'POST' : 'GET', agent: false,
      headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', Connection: 'close' },
    }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode, ms: performance.now() - started }));
    });
    request.on('error', (error) => resolve({ status: `error ${error.code}`, ms: performance.now() - started }));
    request.end(body ? JSON.stringify(body) : undefined);
  });
}

// SAMPLES completions one after another (the same prompts in every phase).
async function completions(url) {
  const results = [];
  for (let i = 0; i < SAMPLES; i++)
    results.push(await keyed(url, '/v1/completions', { prompt: `def f${i % 8}(x):\n    return`, max_tokens: 8 }));
  const ok = results.filter((r) => r.status === 200).map((r) => r.ms);
  const failures = results.filter((r) => r.status !== 200).map((r) => String(r.status));
  return { samples: results.length, ok: ok.length, failures: [...new Set(failures)], p50_ms: round(percentile(ok, 0.5)), p99_ms: round(percentile(ok, 0.99)) };
}

const round = (x) => (x === undefined ? null : Math.round(x * 10) / 10);

// Sockets that send one byte of a request head every TRICKLE_MS and reconnect when cut.
function trickle(url, count) {
  const { port } = new URL(url);
  const head = Buffer.from('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'.repeat(50));
  const stats = { connected: 0, reconnects: 0, refused: 0 };
  let running = true;
  const open = (i) => {
    if (!running) return;
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: source(i) });
    let offset = 0;
    let timer;
    socket.on('connect', () => {
      stats.connected++;
      const tick = () => {
        if (!running || socket.destroyed) return;
        socket.write(head.subarray(offset % head.length, (offset % head.length) + 1));
        offset++;
        timer = setTimeout(tick, TRICKLE_MS);
      };
      timer = setTimeout(tick, Math.random() * TRICKLE_MS);
    });
    socket.on('data', (data) => { if (data.toString().startsWith('HTTP/1.1 503')) stats.refused++; });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      stats.connected--;
      if (running) {
        stats.reconnects++;
        setTimeout(() => open(i), 100);
      }
    });
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const sockets = new Set();
  for (let i = 0; i < count; i++) open(i);
  return { stats, stop() { running = false; for (const s of sockets) s.destroy(); } };
}

// IDLE connections that send nothing; resolves once all are connected (in waves, so the
// listen backlog is not what refuses them). Counts those the server answers or closes.
async function holdIdle(url, count) {
  const { port } = new URL(url);
  const sockets = [];
  const stats = { connected: 0, answered: 0, closed: 0, errors: 0 };
  for (let start = 0; start < count; start += 500) {
    const wave = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      wave.push(new Promise((resolve) => {
        const socket = net.connect({ port, host: '127.0.0.1', localAddress: source(i) });
        socket.on('connect', () => { stats.connected++; resolve(); });
        socket.on('data', () => { stats.answered++; });
        socket.on('error', () => { stats.errors++; resolve(); });
        socket.on('close', () => { stats.closed++; });
        sockets.push(socket);
      }));
    }
    await Promise.all(wave);
  }
  return { stats, stop() { for (const s of sockets) s.destroy(); } };
}

function threads(pid) {
  return Number(/Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

async function withServer(args, body) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskfill-bench-'));
  const keyFile = path.join(dir, 'key');
  fs.writeFileSync(keyFile, KEY + '\n', { mode: 0o600 });
  const server = await startServer(['--api-key-file', keyFile, ...args]);
  try {
    await keyed(server.url, '/v1/completions', { prompt: 'x = ', max_tokens: 8 });  // warm-up
    return await body(server);
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const result = {};
  result.trickle = await withServer([], async (server) => {
    log(`idle baseline: ${SAMPLES} keyed completions`);
    const idle = await completions(server.url);
    log(`${TRICKLERS} sockets trickling one byte every ${TRICKLE_MS} ms`);
    const flood = trickle(server.url, TRICKLERS);
    for (let i = 0; i < 100 && flood.stats.connected < TRICKLERS; i++) await sleep(100);
    await sleep(TRICKLE_MS);
    const connectedAtStart = flood.stats.connected;
    const loaded = await completions(server.url);
    const summary = { tricklers: TRICKLERS, connected_at_start: connectedAtStart, reconnects: flood.stats.reconnects,
      refused_503: flood.stats.refused, server_threads: threads(server.child.pid) };
    flood.stop();
    return { idle, during_trickle: loaded, flood: summary, p99_ratio: round(loaded.p99_ms / idle.p99_ms), goal: 'p99_ratio <= 2' };
  });
  log(JSON.stringify(result.trickle));
  result.idle = await withServer(['--header-timeout-ms', '600000'], async (server) => {
    const pid = server.child.pid;
    const before = { rss_kib: await rssKiB(pid), threads: threads(pid) };
    log(`holding ${IDLE} idle connections`);
    const held = await holdIdle(server.url, IDLE);
    await sleep(1000);
    const after = { rss_kib: await rssKiB(pid), threads: threads(pid) };
    const health = await keyed(server.url, '/health');
    const loaded = await completions(server.url);
    const summary = {
      idle_connections: IDLE, connected: held.stats.connected, answered_or_closed_by_server: held.stats.answered + held.stats.closed,
      connect_errors: held.stats.errors, server_before: before, server_after: after,
      kib_per_connection: round((after.rss_kib - before.rss_kib) / Math.max(1, held.stats.connected)),
      keyed_health: health.status, keyed_completions: loaded,
      goal: 'no 503 to a keyed client', met: health.status === 200 && loaded.ok === loaded.samples,
    };
    held.stop();
    return summary;
  });
  console.log(JSON.stringify(result, null, 2));
}

await main();
