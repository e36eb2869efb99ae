// Starts `maskfill serve` on a free loopback port for a test and stops it afterwards.
import { spawn } from 'node:child_process';
import path from 'node:path';

export const buildDir = path.resolve(process.env.MASKFILL_BUILD_DIR ?? 'build');
export const binary = process.env.MASKFILL_BINARY ?? path.join(buildDir, 'maskfill');

// Resolves once the server printed its address; rejects if it exits first or takes over `ms`.
export function startServer(args = [], { ms = 120000, env = process.env, bin = binary, cwd } = {}) {
  const port = args.includes('--port') ? [] : ['--port', '0'];
  const level = args.includes('--log-level') ? [] : ['--log-level', 'warn'];
  const child = spawn(bin, ['serve', ...port, ...level, ...args], { stdio: ['ignore', 'inherit', 'pipe'], env, cwd });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`maskfill serve did not start in ${ms} ms:\n${stderr}`)), ms);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      process.stderr.write(chunk);
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        child.stderr.removeAllListeners('data');
        child.stderr.on('data', (c) => process.stderr.write(c));
        resolve({
          url: match[1], child, exited,
          async stop() {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`maskfill serve exited (${code}) before listening:\n${stderr}`));
    });
  });
}

// Runs `maskfill serve ARGS` expecting it to refuse to start; returns {code, stderr}.
export function runToExit(args, { ms = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('did not exit')); }, ms);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

export async function metrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name) => {
    const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
    return line ? Number(line.split(' ').pop()) : undefined;
  };
  return { text, value };
}

export async function rssKiB(pid) {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}
