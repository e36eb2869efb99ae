// `maskfill serve` driven by the official `openai` npm client (and plain fetch for what the client
// cannot send): completions with a suffix (FIM), token-id prompts, chat, streaming equal to the
// whole answer, n > 1, stop strings, bad requests answered with OpenAI error objects while the
// server keeps serving, body and auth limits, cancellation on disconnect, metrics and model files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { metrics, runToExit, startServer } from './server.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const modelDir = path.join(root, 'models/maskfill-tiny');
const results = [];

async function check(name, body) {
  const t0 = Date.now();
  try {
    const detail = await body();
    results.push(true);
    console.log(`ok - ${name} (${Date.now() - t0} ms)${detail ? ': ' + detail : ''}`);
  } catch (error) {
    results.push(false);
    console.log(`not ok - ${name}: ${error.stack || error}`);
  }
}

const prefix = 'def add(a, b):\n    return ';
const suffix = '\n\n\nprint(add(1, 2))\n';

async function main() {
  const server = await startServer(['--max-batch', '8']);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0, timeout: 120000 });
  let modelId;

  await check('models.list names the bundled model', async () => {
    const list = await client.models.list();
    assert.equal(list.data.length, 1);
    modelId = list.data[0].id;
    assert.equal(modelId, 'maskfill-tiny');
    assert.equal(list.data[0].maskfill.block_size, 4);
    return list.data[0].maskfill.description;
  });

  await check('models.retrieve gives the model; an unknown id gets 404 model_not_found', async () => {
    const model = await client.models.retrieve(modelId);
    assert.equal(model.id, modelId);
    assert.equal(model.object, 'model');
    await assert.rejects(client.models.retrieve('org/no-such-model'), (e) => {
      assert.equal(e.status, 404);
      assert.equal(e.error?.code ?? e.code, 'model_not_found');
      return true;
    });
  });

  let fim;
  await check('completion with a suffix (SPM fill-in-the-middle): text, usage with forwards, deterministic', async () => {
    const request = { model: modelId, prompt: prefix, suffix, max_tokens: 16, temperature: 0 };
    fim = await client.completions.create(request);
    assert.equal(fim.object, 'text_completion');
    assert.equal(fim.choices.length, 1);
    assert.equal(typeof fim.choices[0].text, 'string');
    assert.ok(['stop', 'length'].includes(fim.choices[0].finish_reason));
    assert.ok(fim.usage.prompt_tokens > 10, JSON.stringify(fim.usage));
    assert.ok(fim.usage.completion_tokens <= 16);
    assert.ok(fim.usage.forwards > 0, 'usage.forwards');
    assert.equal(fim.usage.total_tokens, fim.usage.prompt_tokens + fim.usage.completion_tokens);
    const again = await client.completions.create(request);
    assert.equal(again.choices[0].text, fim.choices[0].text);
    return `${JSON.stringify(fim.choices[0].text)}, ${fim.usage.forwards} forwards, cached ${fim.usage.prompt_tokens_details.cached_tokens}`;
  });

  await check('a token-id prompt gives the same completion as its text', async () => {
    const text = await client.completions.create({ model: modelId, prompt: 'def fib(n):\n', max_tokens: 12, return_token_ids: true });
    const ids = text.choices[0].prompt_token_ids;
    assert.ok(Array.isArray(ids) && ids.length > 2);
    assert.ok(text.choices[0].token_ids.length === text.usage.completion_tokens);
    const byIds = await client.completions.create({ model: modelId, prompt: ids, max_tokens: 12 });
    assert.equal(byIds.choices[0].text, text.choices[0].text);
    assert.equal(byIds.usage.prompt_tokens, ids.length);
    // Several prompts in one request: choices in prompt order.
    const both = await client.completions.create({ model: modelId, prompt: [ids, ids], max_tokens: 12 });
    assert.deepEqual(both.choices.map((c) => c.index), [0, 1]);
    assert.equal(both.choices[1].text, text.choices[0].text);
    return `${ids.length} prompt ids`;
  });

  await check('chat completion through the chat template', async () => {
    const chat = await client.chat.completions.create({
      model: modelId, max_tokens: 32, messages: [{ role: 'user', content: 'Write a Python function that adds two numbers.' }],
    });
    assert.equal(chat.object, 'chat.completion');
    assert.equal(chat.choices[0].message.role, 'assistant');
    assert.equal(typeof chat.choices[0].message.content, 'string');
    assert.ok(chat.usage.prompt_tokens > 5);
    return JSON.stringify(chat.choices[0].message.content.slice(0, 60));
  });

  await check('streaming (SSE) gives the same text as the whole answer, then usage', async () => {
    const request = { model: modelId, prompt: prefix, suffix, max_tokens: 16, temperature: 0 };
    const stream = await client.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish = null;
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.text;
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    assert.equal(text, fim.choices[0].text);
    assert.equal(finish, fim.choices[0].finish_reason);
    assert.equal(usage.completion_tokens, fim.usage.completion_tokens);
    const chat = await client.chat.completions.create({
      model: modelId, max_tokens: 24, stream: true, messages: [{ role: 'user', content: 'Say hello in Python.' }],
    });
    let content = '';
    let role = null;
    for await (const chunk of chat) {
      for (const choice of chunk.choices) {
        if (choice.delta.role) role = choice.delta.role;
        content += choice.delta.content ?? '';
      }
    }
    assert.equal(role, 'assistant');
    const whole = await client.chat.completions.create({ model: modelId, max_tokens: 24, messages: [{ role: 'user', content: 'Say hello in Python.' }] });
    assert.equal(content, whole.choices[0].message.content);
    return `${chunks} chunks`;
  });

  await check('n = 3 with sampling: three choices, usage sums them', async () => {
    const result = await client.completions.create({ model: modelId, prompt: prefix, suffix, max_tokens: 12, n: 3, temperature: 1.0, seed: 7 });
    assert.deepEqual(result.choices.map((c) => c.index), [0, 1, 2]);
    assert.ok(result.choices.every((c) => c.token_ids === undefined), 'token_ids only when asked');
    const withIds = await client.completions.create({
      model: modelId, prompt: prefix, suffix, max_tokens: 12, n: 3, temperature: 1.0, seed: 7, return_token_ids: true,
    });
    assert.deepEqual(withIds.choices.map((c) => c.text), result.choices.map((c) => c.text), 'same seed, same choices');
    assert.equal(withIds.usage.completion_tokens, withIds.choices.reduce((s, c) => s + c.token_ids.length, 0));
    return `${new Set(result.choices.map((c) => c.text)).size} distinct of 3`;
  });

  await check('stop strings cut the text', async () => {
    const result = await client.completions.create({
      model: modelId, prompt: 'import os\nimport sys\n', max_tokens: 48, stop: ['\n'], ignore_eos: true,
    });
    assert.ok(!result.choices[0].text.includes('\n'), JSON.stringify(result.choices[0].text));
    return `${JSON.stringify(result.choices[0].text)} (${result.choices[0].finish_reason})`;
  });

  await check('block-diffusion options (LMDeploy names) are accepted and change the forward count', async () => {
    const base = { model: modelId, prompt: prefix, suffix, max_tokens: 16, ignore_eos: true };
    const oneByOne = await client.completions.create({ ...base, dllm_unmasking_strategy: 'low_confidence_static' });
    const dynamic = await client.completions.create({ ...base, dllm_unmasking_strategy: 'low_confidence_dynamic', dllm_confidence_threshold: 0.5 });
    assert.equal(oneByOne.usage.forwards, 16);
    assert.ok(dynamic.usage.forwards <= 16);
    const perBlock = await client.completions.create({ ...base, dllm_unmasking_strategy: 'low_confidence_static', dllm_block_length: 4, dllm_denoising_steps: 2 });
    assert.ok(perBlock.usage.forwards <= 16);
    return `forwards: one-per-step ${oneByOne.usage.forwards}, threshold 0.5 ${dynamic.usage.forwards}, 2 steps/block ${perBlock.usage.forwards}`;
  });

  await check('bad requests get 400/404 with an OpenAI error object; the server keeps serving', async () => {
    const cases = [
      [{ model: modelId }, 400, 'prompt'],
      [{ model: modelId, prompt: 'x', max_tokens: 'many' }, 400, 'max_tokens'],
      [{ model: modelId, prompt: 'x', n: 1000 }, 400, 'n'],
      [{ model: modelId, prompt: 'x', temperature: -1 }, 400, 'temperature'],
      [{ model: modelId, prompt: [1, -5] }, 400, 'prompt'],
      [{ model: modelId, prompt: 'x', max_tokens: 100000 }, 400, 'max_tokens'],
      [{ model: modelId, prompt: 'word '.repeat(2500), max_tokens: 16 }, 400, 'prompt'],
      [{ model: modelId, prompt: 'x', dllm_block_length: 8 }, 400, 'dllm_block_length'],
      [{ model: modelId, prompt: 'x', stop: 5 }, 400, 'stop'],
      [{ model: modelId, prompt: 'x', logprobs: 3 }, 400, 'logprobs'],
      [{ model: modelId, prompt: 'x', top_p: 0.5 }, 400, 'top_p'],
      [{ model: modelId, prompt: 'x', frequency_penalty: 0.5 }, 400, 'frequency_penalty'],
      [{ model: modelId, prompt: 'x', logit_bias: { 1: 5 } }, 400, 'logit_bias'],
      [{ model: 'gpt-4', prompt: 'x' }, 404, 'model'],
    ];
    for (const [body, status, param] of cases) {
      await assert.rejects(client.completions.create(body), (e) => {
        assert.equal(e.status, status, JSON.stringify(body).slice(0, 80));
        assert.equal(e.error?.param ?? e.param, param);
        assert.ok(typeof e.error?.message === 'string' || typeof e.message === 'string');
        return true;
      });
    }
    await assert.rejects(client.chat.completions.create({ model: modelId, messages: [] }), (e) => e.status === 400);
    await assert.rejects(client.chat.completions.create({ model: modelId, messages: [{ role: 'wizard', content: 'x' }] }), (e) => e.status === 400);
    await assert.rejects(client.chat.completions.create({ model: modelId, messages: [{ role: 'user', content: 'x' }], presence_penalty: 1 }),
      (e) => e.status === 400 && (e.error?.param ?? e.param) === 'presence_penalty');
    // What the client library would never send: broken JSON, a JSON array, a wrong method, no route.
    for (const [method, route, body, status] of [
      ['POST', '/v1/completions', '{"prompt": ', 400],
      ['POST', '/v1/completions', '[1,2,3]', 400],
      ['POST', '/v1/completions', '\u0000\u0001', 400],
      ['GET', '/v1/completions', undefined, 405],
      ['GET', '/v1/nothing', undefined, 404],
    ]) {
      const response = await fetch(`${server.url}${route}`, { method, body, headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, status, `${method} ${route} ${body}`);
      const error = (await response.json()).error;
      assert.equal(typeof error.message, 'string');
      assert.ok(!/json\.exception|\[json/.test(error.message), error.message);
    }
    // Not HTTP at all.
    const net = await import('node:net');
    const garbage = await new Promise((resolve) => {
      const socket = net.connect(new URL(server.url).port, '127.0.0.1', () => socket.write('HELLO THERE\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => { data += d; });
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(data));
    });
    assert.match(garbage, /^HTTP\/1\.1 400/);
    const ok = await client.completions.create({ model: modelId, prompt: 'x = ', max_tokens: 4 });
    assert.equal(ok.choices.length, 1);
    return `${cases.length + 7} refused, then served`;
  });

  await check('a body over --max-body gets 413 and the server keeps serving', async () => {
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: modelId, prompt: 'x'.repeat(5 << 20) }),
    }).catch((e) => e);
    if (response instanceof Error) throw response;
    assert.equal(response.status, 413);
    assert.equal((await response.json()).error.code, 'request_too_large');
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.equal(health.status, 'ok');
  });

  await check('a prompt nested 100,000 deep gets 400 naming the nesting; the server keeps serving', async () => {
    // It used to crash the server (SIGSEGV): the prompt was deep-copied, one stack frame a level.
    const deep = '{"model":"' + modelId + '","prompt":' + '['.repeat(100000) + ']'.repeat(100000) + '}';
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: deep,
    });
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.match(body.error.message, /nested deeper than 64 levels/);
    const ok = await client.completions.create({ model: modelId, prompt: 'x = ', max_tokens: 4 });
    assert.equal(ok.choices.length, 1);
  });

  await check('Transfer-Encoding other than chunked gets 400 and the connection closes (no smuggled second request)', async () => {
    const net = await import('node:net');
    const smuggled = `GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n`;
    const reply = await new Promise((resolve, reject) => {
      const socket = net.connect(new URL(server.url).port, '127.0.0.1', () => {
        socket.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `Transfer-Encoding: gzip\r\n\r\n` + smuggled);
      });
      let data = '';
      socket.on('data', (d) => { data += d; });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(), 10000);
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.match(reply, /only chunked/);
    assert.equal((reply.match(/HTTP\/1\.1 /g) ?? []).length, 1, `one answer only, got: ${reply.slice(0, 300)}`);
  });

  await check('Expect: 100-continue is answered before the body is sent (curl does this for large bodies)', async () => {
    const net = await import('node:net');
    const body = JSON.stringify({ model: modelId, prompt: 'x = ', max_tokens: 4 });
    const reply = await new Promise((resolve, reject) => {
      const socket = net.connect(new URL(server.url).port, '127.0.0.1', () => {
        socket.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
      });
      let data = '';
      let sent = false;
      socket.on('data', (d) => {
        data += d;
        if (!sent && data.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) { sent = true; socket.write(body); }
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
  });

  await check('a client that goes away is cancelled at the next step', async () => {
    const before = (await metrics(server.url)).value('maskfill_cancelled_sequences_total') ?? 0;
    const controller = new AbortController();
    const pending = client.completions.create(
      { model: modelId, prompt: prefix, max_tokens: 512, ignore_eos: true, dllm_unmasking_strategy: 'low_confidence_static' },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 300);
    await assert.rejects(pending);
    let after = before;
    for (let i = 0; i < 300 && after <= before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = (await metrics(server.url)).value('maskfill_cancelled_sequences_total');
    }
    assert.ok(after > before, 'cancelled counter did not move');
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.equal(health.active, 0);
  });

  await check('POST /infill answers llama.vim- and llama.vscode-shaped requests in llama.cpp\'s shape', async () => {
    const infill = async (body) => {
      const response = await fetch(`${server.url}/infill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(response.status, 200, JSON.stringify(body).slice(0, 80));
      return { text: await response.text(), type: response.headers.get('content-type') };
    };
    const extra = [{ text: 'def sub(a, b):\n    return a - b\n', time: 1700000000, filename: 'util.py' }];
    // llama.vim (autoload/llama.vim, llama#fim): the lines above, the line up to the cursor as
    // `prompt`, the rest as the suffix; only the fields it reads come back.
    const vim = JSON.parse((await infill({
      id_slot: 0, input_prefix: 'def add(a, b):\n', input_suffix: '\n\nprint(add(1, 2))\n', input_extra: extra, prompt: '    return ',
      n_predict: 16, stop: [], n_indent: 4, top_k: 40, top_p: 0.90, samplers: ['top_k', 'top_p', 'infill'], stream: false,
      cache_prompt: true, t_max_prompt_ms: 500, t_max_predict_ms: 1000, model: 'anything',
      response_fields: ['content', 'timings/prompt_n', 'timings/prompt_ms', 'timings/prompt_per_token_ms', 'timings/prompt_per_second',
        'timings/predicted_n', 'timings/predicted_ms', 'timings/predicted_per_token_ms', 'timings/predicted_per_second', 'truncated', 'tokens_cached'],
    })).text);
    assert.deepEqual(Object.keys(vim).sort(), ['content', 'timings/predicted_ms', 'timings/predicted_n', 'timings/predicted_per_second',
      'timings/predicted_per_token_ms', 'timings/prompt_ms', 'timings/prompt_n', 'timings/prompt_per_second', 'timings/prompt_per_token_ms',
      'tokens_cached', 'truncated']);
    assert.equal(typeof vim.content, 'string');
    assert.ok(vim['timings/predicted_n'] <= 16);
    assert.equal(vim.truncated, false);
    // Its ring-buffer warm-up: n_predict 0, nothing decoded, nothing asked back.
    const warm = JSON.parse((await infill({
      id_slot: 0, input_prefix: '', input_suffix: '', input_extra: extra, prompt: '', n_predict: 0, temperature: 0.0, samplers: [],
      stream: false, cache_prompt: true, t_max_prompt_ms: 1, t_max_predict_ms: 1, response_fields: [''],
    })).text);
    assert.deepEqual(warm, {});
    // llama.vscode (src/llama-server.ts): the same fields without response_fields: the whole answer.
    const vscodeBody = {
      id_slot: 0, input_prefix: 'def add(a, b):\n', input_suffix: '\n\nprint(add(1, 2))\n', input_extra: extra, prompt: '    return ',
      n_predict: 16, top_k: 40, top_p: 0.99, stream: false, samplers: ['top_k', 'top_p', 'infill'], cache_prompt: true,
      t_max_prompt_ms: 500, t_max_predict_ms: 2500,
    };
    const vscode = JSON.parse((await infill(vscodeBody)).text);
    assert.equal(vscode.content, vim.content, 'the same request decodes the same text');
    assert.equal(vscode.stop, true);
    assert.ok(['eos', 'limit', 'word'].includes(vscode.stop_type));
    assert.equal(vscode.tokens_predicted, vim['timings/predicted_n']);
    assert.ok(vscode.tokens_evaluated > 10 && vscode.timings.prompt_n <= vscode.tokens_evaluated);
    // Streamed: content deltas, the last event has stop: true; no [DONE] (llama.cpp sends none).
    const streamed = await infill({ ...vscodeBody, stream: true });
    assert.match(streamed.type, /text\/event-stream/);
    const events = streamed.text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)));
    assert.equal(events.map((e) => e.content).join(''), vscode.content);
    assert.equal(events.at(-1).stop, true);
    assert.ok(events.slice(0, -1).every((e) => e.stop === false));
    // A context that does not fit is cut from its far end, the extra context first.
    const long = JSON.parse((await infill({ ...vscodeBody, input_extra: [{ filename: 'big.py', text: 'x = 1\n'.repeat(4000) }] })).text);
    assert.equal(long.truncated, true);
    return `${JSON.stringify(vscode.content)} (${vscode.stop_type}, ${vscode.tokens_evaluated} prompt tokens)`;
  });

  await check('/metrics is Prometheus text with the serving figures', async () => {
    const { text, value } = await metrics(server.url);
    for (const name of ['maskfill_http_requests_total', 'maskfill_request_duration_seconds_bucket', 'maskfill_queue_depth',
      'maskfill_batch_size_bucket', 'maskfill_tokens_per_forward_bucket', 'maskfill_prompt_cache_hit_rate', 'maskfill_forwards_total']) {
      assert.ok(text.includes(name), name);
    }
    assert.ok(value('maskfill_forwards_total') > 0);
    assert.match(text, /maskfill_http_requests_total\{code="400",endpoint="\/v1\/completions"\} \d+/);
    return `hit rate ${value('maskfill_prompt_cache_hit_rate')}, forwards ${value('maskfill_forwards_total')}`;
  });

  await check('the model files a remote language server plans with', async () => {
    for (const name of ['tokenizer.json', 'tokenizer_config.json', 'config.json']) {
      const served = await (await fetch(`${server.url}/v1/maskfill/model-files/${name}`)).text();
      assert.equal(served, fs.readFileSync(path.join(modelDir, name), 'utf8'), name);
    }
    assert.equal((await fetch(`${server.url}/v1/maskfill/model-files/model.safetensors`)).status, 404);
    assert.equal((await fetch(`${server.url}/v1/maskfill/model-files/..%2Fconfig.json`)).status, 404);
  });

  assert.equal(await server.stop(), 0, 'SIGTERM ends the server with status 0');

  await check('SIGTERM drains: a stream in flight ends in full, a new request on an open connection gets 503, exit 0', async () => {
    const net = await import('node:net');
    const draining = await startServer(['--drain-seconds', '60']);
    const local = new OpenAI({ baseURL: `${draining.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0, timeout: 120000 });
    // An idle keep-alive connection, opened before the signal.
    const idle = await new Promise((resolve, reject) => {
      const socket = net.connect(new URL(draining.url).port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    });
    let lateReply = '';
    idle.on('data', (d) => { lateReply += d; });
    const body = JSON.stringify({ model: modelId, prompt: 'x = ', max_tokens: 4 });
    const stream = await local.completions.create({
      model: modelId, prompt: prefix, max_tokens: 256, ignore_eos: true, dllm_unmasking_strategy: 'low_confidence_static', stream: true,
    });
    let text = '';
    let finish = null;
    let signalled = false;
    for await (const chunk of stream) {
      if (!signalled) {
        signalled = true;
        draining.child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 150));
        idle.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      for (const choice of chunk.choices) {
        text += choice.text;
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    assert.equal(finish, 'length', 'the stream ended with its finish_reason');
    assert.match(lateReply, /^HTTP\/1\.1 503/);
    assert.match(lateReply, /server is shutting down/);
    assert.equal(await draining.exited, 0);
    return `${text.length} characters, finish_reason ${finish}`;
  });

  await check('a non-loopback address without --api-key-file is refused', async () => {
    const { code, stderr } = await runToExit(['--host', '0.0.0.0', '--port', '0']);
    assert.equal(code, 2);
    assert.match(stderr, /api-key-file/);
  });

  await check('with --api-key-file: 401 without the key, served with it, /health open', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskfill-key-'));
    const key = 'test-key-0123456789abcdef';
    fs.writeFileSync(path.join(dir, 'key'), key + '\n', { mode: 0o600 });
    const keyed = await startServer(['--api-key-file', path.join(dir, 'key')]);
    try {
      const anonymous = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
      await assert.rejects(anonymous.completions.create({ model: modelId, prompt: 'x', max_tokens: 4 }), (e) => e.status === 401);
      assert.equal((await fetch(`${keyed.url}/metrics`)).status, 401);
      assert.equal((await fetch(`${keyed.url}/health`)).status, 200);
      const authorized = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: key, maxRetries: 0 });
      const ok = await authorized.completions.create({ model: modelId, prompt: 'x = ', max_tokens: 4 });
      assert.equal(ok.choices.length, 1);
    } finally {
      await keyed.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const failed = results.filter((r) => !r).length;
  console.log(`serve-openai: ${results.length - failed}/${results.length} passed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
