// A local stand-in for the Hugging Face hub (tests/suites/model-pull.sh): the API's revision and
// tree answers, resolve URLs, and a "CDN" on a second port that LFS files redirect to, as the
// real hub does. It serves one model folder under several repository names, each with a
// behaviour to test:
//   tiny-org/maskfill-tiny   plain
//   tiny-org/private-tiny    needs "Authorization: Bearer hf_test_secret" (401 otherwise)
//   tiny-org/gated-tiny      403 GatedRepo
//   tiny-org/corrupt-tiny    the CDN sends model.safetensors with one byte changed
//   tiny-org/broken-tiny     the CDN closes the connection at the middle byte of model.safetensors,
//                            every time (resumed requests get nothing), until STATE/heal exists
//   tiny-org/stingy-tiny     the CDN sends at most 2 MiB per request, then closes
// Usage: node fake_hub.js MODEL_DIR STATE_DIR. Prints "HUB_PORT CDN_PORT" once both listen, and
// appends one line per request to STATE/requests.log: "SERVER METHOD PATH range=R auth=A".
// No npm dependencies.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const [modelDir, stateDir] = process.argv.slice(2);
const TOKEN = 'hf_test_secret';
const STINGY_BYTES = 2 << 20;
const PAGE = 4;  // tree entries per page, so that the client must follow Link headers

function listFiles(dir, prefix = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).flatMap((entry) =>
    entry.isDirectory() ? listFiles(path.join(dir, entry.name), prefix + entry.name + '/') : [prefix + entry.name]);
}

// Git's blob id, and LFS for large or binary files as a repository's .gitattributes would say.
const files = listFiles(modelDir).map((name) => {
  const bytes = fs.readFileSync(path.join(modelDir, name));
  const gitOid = crypto.createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
  const lfs = /\.(safetensors|png)$/.test(name) || bytes.length > 150000;
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  return { name, bytes, size: bytes.length, gitOid: lfs ? sha1Text(`lfs pointer ${sha256}`) : gitOid, lfs, sha256 };
});
function sha1Text(text) { return crypto.createHash('sha1').update(text).digest('hex'); }

const repos = new Set(['maskfill-tiny', 'private-tiny', 'gated-tiny', 'corrupt-tiny', 'broken-tiny', 'stingy-tiny']
  .map((name) => 'tiny-org/' + name));
const commitOf = (repo) => sha1Text('commit of ' + repo);
let ports = {};

function log(server, req) {
  const line = `${server} ${req.method} ${req.url} range=${req.headers.range || '-'} auth=${req.headers.authorization || '-'}\n`;
  fs.appendFileSync(path.join(stateDir, 'requests.log'), line);
}

function fail(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message });
  res.end(JSON.stringify({ error: message }));
}

// Access rules of the repository; false when the answer was sent.
function allowed(repo, revision, req, res) {
  if (!repos.has(repo)) return fail(res, 404, 'RepoNotFound', 'Repository not found'), false;
  if (repo === 'tiny-org/gated-tiny') return fail(res, 403, 'GatedRepo', 'Access to model tiny-org/gated-tiny is restricted'), false;
  if (repo === 'tiny-org/private-tiny' && req.headers.authorization !== `Bearer ${TOKEN}`)
    return fail(res, 401, 'RepoNotFound', req.headers.authorization ? 'Invalid credentials in Authorization header' : 'Repository not found'), false;
  if (revision !== 'main' && revision !== commitOf(repo)) return fail(res, 404, 'RevisionNotFound', 'Invalid rev id: ' + revision), false;
  return true;
}

function treeEntries() {
  const dirs = [...new Set(files.map((f) => f.name.split('/').slice(0, -1).join('/')).filter(Boolean))];
  const entries = dirs.map((dir) => ({ type: 'directory', oid: sha1Text('tree ' + dir), size: 0, path: dir }));
  for (const f of files) {
    const entry = { type: 'file', oid: f.gitOid, size: f.size, path: f.name };
    if (f.lfs) entry.lfs = { oid: f.sha256, size: f.size, pointerSize: 134 };
    entries.push(entry);
  }
  return entries;
}

function sendJson(res, value, headers = {}) {
  res.writeHead(200, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

// Bytes with Range support. The connection is cut after `limit` bytes of this answer, or when
// the file's byte `cutAt` is reached.
function sendBytes(req, res, bytes, headers, limit = Infinity, cutAt = Infinity) {
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range || '');
  if (range) start = Number(range[1]);
  if (start >= bytes.length && bytes.length > 0) {
    res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` });
    return res.end();
  }
  const status = range ? 206 : 200;
  const head = { ...headers, 'Content-Length': bytes.length - start, 'Accept-Ranges': 'bytes' };
  if (range) head['Content-Range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
  res.writeHead(status, head);
  if (req.method === 'HEAD') return res.end();
  const body = bytes.subarray(start);
  limit = Math.min(limit, Math.max(0, cutAt - start));
  if (body.length <= limit) return res.end(body);
  res.write(body.subarray(0, limit), () => res.socket.destroy());
}

function hub(req, res) {
  log('hub', req);
  const url = new URL(req.url, 'http://localhost');
  let m;
  if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname))) {
    const [repo, revision] = [m[1], decodeURIComponent(m[2])];
    if (!allowed(repo, revision, req, res)) return;
    return sendJson(res, { id: repo, sha: commitOf(repo), siblings: files.map((f) => ({ rfilename: f.name })) });
  }
  if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname))) {
    if (!allowed(m[1], decodeURIComponent(m[2]), req, res)) return;
    const cursor = Number(url.searchParams.get('cursor') || 0), entries = treeEntries();
    const headers = {};
    if (cursor + PAGE < entries.length)
      headers.Link = `<http://127.0.0.1:${ports.hub}${url.pathname}?recursive=true&cursor=${cursor + PAGE}>; rel="next"`;
    return sendJson(res, entries.slice(cursor, cursor + PAGE), headers);
  }
  if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname))) {
    const [repo, revision, name] = [m[1], decodeURIComponent(m[2]), decodeURIComponent(m[3])];
    if (!allowed(repo, revision, req, res)) return;
    const file = files.find((f) => f.name === name);
    if (!file) return fail(res, 404, 'EntryNotFound', 'Entry not found');
    const common = { 'X-Repo-Commit': commitOf(repo) };
    if (!file.lfs) return sendBytes(req, res, file.bytes, { ...common, ETag: `"${file.gitOid}"` });
    res.writeHead(302, {
      ...common, 'X-Linked-Etag': `"${file.sha256}"`, 'X-Linked-Size': file.size, ETag: `"${file.gitOid}"`,
      Location: `http://127.0.0.1:${ports.cdn}/repos/${repo}/${file.sha256}?X-Amz-Signature=fake`,
    });
    return res.end();
  }
  fail(res, 404, 'NotFound', 'no such route');
}

function cdn(req, res) {
  log('cdn', req);
  const m = /^\/repos\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(new URL(req.url, 'http://localhost').pathname);
  const file = m && files.find((f) => f.sha256 === m[2]);
  if (!file) return fail(res, 404, 'NotFound', 'no such blob');
  const repo = m[1], big = file.name === 'model.safetensors';
  let bytes = file.bytes, limit = Infinity, cutAt = Infinity;
  if (repo === 'tiny-org/corrupt-tiny' && big) {
    bytes = Buffer.from(file.bytes);
    bytes[bytes.length >> 1] ^= 0xff;
  }
  if (repo === 'tiny-org/broken-tiny' && big && !fs.existsSync(path.join(stateDir, 'heal'))) cutAt = file.size >> 1;
  if (repo === 'tiny-org/stingy-tiny' && big) limit = STINGY_BYTES;
  sendBytes(req, res, bytes, { ETag: `"${file.sha256}"` }, limit, cutAt);
}

const hubServer = http.createServer(hub), cdnServer = http.createServer(cdn);
hubServer.listen(0, '127.0.0.1', () => cdnServer.listen(0, '127.0.0.1', () => {
  ports = { hub: hubServer.address().port, cdn: cdnServer.address().port };
  process.stdout.write(`${ports.hub} ${ports.cdn}\n`);
}));
