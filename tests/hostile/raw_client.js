// A deliberately low-level LSP client for hostile tests: it writes arbitrary bytes (broken
// headers, invalid UTF-8, lies about lengths) that a real client library would refuse to send,
// parses the server's framed replies itself, and reads the server's memory and thread count
// from /proc. Shared by tests/hostile and tests/load.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const { performance } = require('perf_hooks');

function frame(body) {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`), bytes]);
}

class RawServer {
  // args: e.g. ['lsp']; options: {env, cwd}
  constructor(binary, args, options = {}) {
    this.child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env || process.env, cwd: options.cwd });
    this.pid = this.child.pid;
    this.messages = [];      // every message the server sent, in order
    this.waiters = [];
    this.stderr = '';
    this.nextId = 1;
    this.buffer = Buffer.alloc(0);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.exitTime = Date.now();
        resolve({ code, signal });
        this._wake();
      });
    });
    this.child.stdout.on('data', (chunk) => this._onData(chunk));
    this.child.stderr.on('data', (chunk) => {
      // Keep the tail only: a hostile session can log a lot.
      this.stderr = (this.stderr + chunk.toString()).slice(-20000);
    });
    this.child.stdin.on('error', () => {});  // EPIPE after the server exits is expected in some tests
  }

  _onData(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const header = this.buffer.subarray(0, end).toString('latin1');
      const match = /Content-Length: *(\d+)/i.exec(header);
      if (!match) throw new Error(`server sent a frame without Content-Length: ${JSON.stringify(header)}`);
      const length = Number(match[1]);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(end + 4 + length);
      let message;
      try {
        message = JSON.parse(body);
      } catch (e) {
        message = { invalidJsonFromServer: body.slice(0, 200) };
      }
      Object.defineProperty(message, "receivedAt", { value: performance.now(), enumerable: false });
      this.messages.push(message);
      this._answerServerRequest(message);
      this._wake();
    }
  }

  // The server may ask us things (workspace/configuration, window/workDoneProgress/create...).
  _answerServerRequest(message) {
    if (message.method && message.id !== undefined) {
      const result = message.method === 'workspace/configuration' ? (message.params.items || []).map(() => null) : null;
      this.send({ jsonrpc: '2.0', id: message.id, result });
    }
  }

  _wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  // Resolves with the first message (from index `from` on) matching `predicate`.
  waitFor(predicate, timeoutMs = 10000, from = 0) {
    return new Promise((resolve, reject) => {
      let index = from;
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for a message`)), timeoutMs);
      const check = () => {
        for (; index < this.messages.length; ++index) {
          if (predicate(this.messages[index])) {
            clearTimeout(timer);
            return resolve(this.messages[index]);
          }
        }
        if (this.exitTime !== undefined) {
          clearTimeout(timer);
          return reject(new Error(`server exited (code ${this.exitCode}, signal ${this.exitSignal}) while we waited`));
        }
        this.waiters.push(check);
      };
      check();
    });
  }

  writeRaw(bytes) {
    return new Promise((resolve) => {
      if (this.exitTime !== undefined || this.child.stdin.destroyed) return resolve(false);
      if (this.child.stdin.write(bytes)) resolve(true);
      else this.child.stdin.once('drain', () => resolve(true));
    });
  }

  send(message) {
    return this.writeRaw(frame(message));
  }

  notify(method, params) {
    return this.send({ jsonrpc: '2.0', method, params });
  }

  // Sends a request; resolves with the response (result or error) for its id.
  request(method, params, timeoutMs = 10000) {
    const id = this.nextId++;
    const from = this.messages.length;
    const answered = this.waitFor((m) => m.id === id && m.method === undefined, timeoutMs, from);
    this.send(params === undefined || params === null ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    return answered;
  }

  sendRequestNoWait(method, params) {
    const id = this.nextId++;
    this.send({ jsonrpc: '2.0', id, method, params });
    return id;
  }

  async initialize(extra = {}) {
    const response = await this.request('initialize', { processId: process.pid, rootUri: null, capabilities: {}, ...extra });
    await this.notify('initialized', {});
    return response;
  }

  closeInput() {
    this.child.stdin.end();
  }

  kill() {
    if (this.exitTime === undefined) this.child.kill('SIGKILL');
  }

  procStatus() {
    try {
      const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const field = (name) => {
        const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
        return match ? Number(match[1]) : undefined;
      };
      return { rssKb: field('VmRSS'), peakKb: field('VmHWM'), threads: field('Threads') };
    } catch (e) {
      return {};
    }
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { RawServer, frame, percentile, sleep };
