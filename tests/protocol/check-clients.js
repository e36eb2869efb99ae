#!/usr/bin/env node
// Checks the clients and the built server against the one contract, editors/protocol.json:
//  - VS Code: package.json contributes (settings with type/default/range/enum/pattern/scope,
//    commands, keybindings, menus), what src/settings.ts reads and sends, the method and
//    command names in src/*.ts, the language list;
//  - Neovim: what the plugin sends as init_options (run through headless nvim), the method and
//    command names in editors/nvim/**/*.lua, the default filetypes;
//  - the server binary ($MASKFILL_BUILD_DIR/maskfill, when built): its executeCommandProvider,
//    and that both clients' settings are accepted without "unknown setting" or errors.
// Exits 1 listing every disagreement. Usage: node tests/protocol/check-clients.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '../..');
const schemaPath = process.env.MASKFILL_PROTOCOL_SCHEMA || path.join(root, 'editors/protocol.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
const problems = [];
const notes = [];
const problem = (where, text) => problems.push(`${where}: ${text}`);

const settings = schema.settings;
const serverSettings = Object.keys(settings).filter((name) => !settings[name].clientOnly);
const methods = new Set([...Object.keys(schema.requests), ...Object.keys(schema.notifications)]);
const commands = schema.commands;
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// {a: {b: 1}, c: 2} → {"a.b": 1, c: 2}, only descending into objects that are setting groups.
function flatten(value, prefix = '') {
  const out = {};
  for (const [key, inner] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    const group = Object.keys(settings).some((s) => s.startsWith(name + '.'));
    if (inner && typeof inner === 'object' && !Array.isArray(inner) && !settings[name] && group) Object.assign(out, flatten(inner, name));
    else out[name] = inner;
  }
  return out;
}

// Every value a client sends must be a server setting and valid by the schema.
function checkSent(where, sent) {
  for (const [name, value] of Object.entries(flatten(sent))) {
    const spec = settings[name];
    if (!spec) { problem(where, `sends setting "${name}", which editors/protocol.json does not define`); continue; }
    if (spec.clientOnly) { problem(where, `sends client-only setting "${name}" to the server`); continue; }
    const types = [].concat(spec.type);
    const kind = value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value;
    if (!types.includes(kind) && !(kind === 'integer' && types.includes('number'))) problem(where, `sends "${name}" as ${kind}, schema says ${types.join('|')}`);
  }
}

// String literals that look like protocol names: 'maskfill/x' (methods), 'maskfill.x' (commands).
function scanNames(where, text, isModule) {
  for (const match of text.matchAll(/['"`](maskfill[./][A-Za-z0-9_./]+)['"`]/g)) {
    const name = match[1];
    if (name.startsWith('maskfill/')) {
      if (!methods.has(name)) problem(where, `uses method "${name}", not in editors/protocol.json`);
    } else if (!commands[name] && !settings[name.slice('maskfill.'.length)] && !(isModule && isModule(name))) {
      problem(where, `uses command "${name}", not in editors/protocol.json`);
    }
  }
}

// ---- VS Code ----------------------------------------------------------------------------------
function checkVscode() {
  const dir = path.join(root, 'editors/vscode');
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration.properties;
  const where = 'editors/vscode/package.json';
  for (const [key, prop] of Object.entries(props)) {
    const name = key.replace(/^maskfill\./, '');
    const spec = settings[name];
    if (!key.startsWith('maskfill.') || !spec) { problem(where, `setting "${key}" is not in editors/protocol.json`); continue; }
    if (!(spec.clients || []).includes('vscode')) problem(where, `setting "${key}" is not marked for vscode in the schema`);
    for (const field of ['type', 'default', 'minimum', 'maximum', 'enum', 'pattern', 'scope']) {
      if (!same(prop[field], spec[field])) problem(where, `${key}.${field} is ${JSON.stringify(prop[field])}, schema says ${JSON.stringify(spec[field])}`);
    }
  }
  for (const [name, spec] of Object.entries(settings)) {
    if ((spec.clients || []).includes('vscode') && !props[`maskfill.${name}`]) problem(where, `schema setting "${name}" (clients: vscode) is missing`);
  }
  const contributed = pkg.contributes.commands.map((c) => c.command);
  for (const id of contributed) if (!commands[id]) problem(where, `command "${id}" is not in editors/protocol.json`);
  for (const [id, spec] of Object.entries(commands)) {
    if (spec.handledBy === 'vscode' && !contributed.includes(id)) problem(where, `schema command "${id}" (handledBy vscode) is not contributed`);
  }
  const referenced = [...(pkg.contributes.keybindings || []), ...Object.values(pkg.contributes.menus || {}).flat()].map((k) => k.command);
  for (const id of referenced) {
    if (!id.startsWith('editor.action.') && !commands[id]) problem(where, `keybinding/menu command "${id}" is not in editors/protocol.json`);
  }
  const activation = (pkg.activationEvents || []).filter((e) => e.startsWith('onLanguage:')).map((e) => e.slice('onLanguage:'.length));
  if (!same([...activation].sort(), [...schema.languages].sort())) problem(where, `activationEvents languages ${JSON.stringify(activation)} differ from the schema's ${JSON.stringify(schema.languages)}`);

  for (const file of fs.readdirSync(path.join(dir, 'src')).filter((f) => f.endsWith('.ts'))) {
    scanNames(`editors/vscode/src/${file}`, fs.readFileSync(path.join(dir, 'src', file), 'utf8'));
  }

  // What settings.ts reads and sends, from the compiled sources (npm run build:test).
  const out = path.join(dir, 'out/src');
  if (!fs.existsSync(path.join(out, 'settings.js'))) {
    problem('editors/vscode', 'out/src/settings.js missing: run `npm run build:test` in editors/vscode first');
    return;
  }
  const vs = require(path.join(out, 'settings.js'));
  const read = [];
  const full = vs.readSettings((key) => { read.push(key); return undefined; });
  for (const key of read) {
    if (!settings[key]) problem('editors/vscode/src/settings.ts', `reads setting "maskfill.${key}", not in editors/protocol.json`);
    else if (!props[`maskfill.${key}`]) problem('editors/vscode/src/settings.ts', `reads "maskfill.${key}", which package.json does not contribute`);
  }
  const sent = vs.toInitializationOptions({ ...full, modelPath: '/models/x' });
  checkSent('editors/vscode/src/settings.ts (initializationOptions)', sent);
  const change = vs.serverSettingsChange(full, { ...full, debounceMs: full.debounceMs + 1 });
  if (!change || !change.maskfill) problem('editors/vscode/src/settings.ts', 'serverSettingsChange sends nothing for a debounce change');
  else checkSent('editors/vscode/src/settings.ts (didChangeConfiguration)', change.maskfill);
  for (const [name, spec] of Object.entries(settings)) {
    if (spec.clientOnly || !(spec.clients || []).includes('vscode')) continue;
    if (!(name in flatten(sent))) problem('editors/vscode/src/settings.ts', `never sends "${name}" although package.json offers it`);
  }
  const { LANGUAGES } = require(path.join(out, 'clientOptions.js'));
  if (!same([...LANGUAGES], schema.languages)) problem('editors/vscode/src/clientOptions.ts', `LANGUAGES ${JSON.stringify(LANGUAGES)} differ from the schema's`);
  notes.push(`vscode: ${Object.keys(props).length} settings, ${contributed.length} commands, sends ${Object.keys(flatten(sent)).join(', ')}`);
  return sent;
}

// ---- Neovim -----------------------------------------------------------------------------------
function luaFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? (e.name === 'tests' ? [] : luaFiles(p)) : e.name.endsWith('.lua') ? [p] : [];
  });
}

function checkNvim() {
  const dir = path.join(root, 'editors/nvim');
  const isModule = (name) => fs.existsSync(path.join(dir, 'lua', ...name.split('.')) + '.lua') ||
    fs.existsSync(path.join(dir, 'lua', ...name.split('.'), 'init.lua'));
  for (const file of luaFiles(dir)) scanNames(path.relative(root, file), fs.readFileSync(file, 'utf8'), isModule);
  if (spawnSync('nvim', ['--version']).status !== 0) {
    problem('editors/nvim', 'nvim not found: cannot check what the plugin sends');
    return undefined;
  }
  const dump = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'maskfill-schema-')), 'nvim.json');
  const lua = `local c = require('maskfill.config'); c.setup({ model_path = '/models/x' })
    local f = io.open(${JSON.stringify(dump)}, 'w'); f:write(vim.fn.json_encode({ init = c.init_options(), filetypes = c.defaults.filetypes })); f:close()`;
  const run = spawnSync('nvim', ['--headless', '-u', 'NONE', '-i', 'NONE', '-n', '--cmd', `set rtp^=${dir}`, '-c', `lua ${lua.replace(/\n/g, ' ')}`, '-c', 'qa!'],
    { encoding: 'utf8', timeout: 30000 });
  if (!fs.existsSync(dump)) {
    problem('editors/nvim', `could not read the plugin's init_options: ${run.stderr || run.stdout}`);
    return undefined;
  }
  const { init, filetypes } = JSON.parse(fs.readFileSync(dump, 'utf8'));
  checkSent('editors/nvim/lua/maskfill/config.lua (init_options)', init);
  for (const [name, spec] of Object.entries(settings)) {
    if (!spec.clientOnly && (spec.clients || []).includes('nvim') && !(name in flatten(init))) problem('editors/nvim/lua/maskfill/config.lua', `never sends "${name}"`);
  }
  if (!same(filetypes, schema.languages)) problem('editors/nvim/lua/maskfill/config.lua', `default filetypes ${JSON.stringify(filetypes)} differ from the schema's languages`);
  notes.push(`nvim: sends ${Object.keys(flatten(init)).join(', ')}`);
  return init;
}

// ---- the built server --------------------------------------------------------------------------
function frame(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}

async function checkServer(clientSettings) {
  const binary = path.join(process.env.MASKFILL_BUILD_DIR || path.join(root, 'build'), 'maskfill');
  if (!fs.existsSync(binary)) { notes.push(`server: SKIPPED (${binary} not built)`); return; }
  for (const [client, options] of Object.entries(clientSettings)) {
    if (!options) continue;
    const child = spawn(binary, ['lsp', '--log-level', 'info'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, MASKFILL_MODEL_DIR: '/nonexistent-maskfill-model' } });
    let stderr = '';
    let buffer = Buffer.alloc(0);
    const messages = [];
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', (d) => {
      buffer = Buffer.concat([buffer, d]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) break;
        const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
        if (buffer.length < end + 4 + length) break;
        messages.push(JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString()));
        buffer = buffer.subarray(end + 4 + length);
      }
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.stdin.write(frame({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {}, initializationOptions: options } }));
    child.stdin.write(frame({ jsonrpc: '2.0', method: 'workspace/didChangeConfiguration', params: { settings: { maskfill: options } } }));
    child.stdin.write(frame({ jsonrpc: '2.0', id: 2, method: 'shutdown' }));
    child.stdin.write(frame({ jsonrpc: '2.0', method: 'exit' }));
    child.stdin.end();
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20000))]);
    if (code === 'timeout') child.kill('SIGKILL');
    const init = messages.find((m) => m.id === 1);
    const where = `server (settings from ${client})`;
    if (!init || !init.result) { problem(where, `no initialize result (exit ${code}): ${stderr.slice(-500)}`); continue; }
    const advertised = init.result.capabilities.executeCommandProvider?.commands || [];
    const expected = Object.keys(commands).filter((id) => commands[id].handledBy === 'server');
    if (!same([...advertised].sort(), [...expected].sort())) problem(where, `executeCommandProvider ${JSON.stringify(advertised)}, schema says ${JSON.stringify(expected)}`);
    for (const line of stderr.split('\n')) if (/unknown setting|setting '.*' must be/.test(line)) problem(where, line.trim());
    for (const m of messages) {
      if (m.method === 'window/showMessage' && /unknown setting|setting '[^']*' /.test(m.params.message)) problem(where, `showMessage: ${m.params.message}`);
    }
  }
  notes.push(`server: ${binary} checked with what both clients send`);
}

(async () => {
  const vscode = checkVscode();
  const nvim = checkNvim();
  await checkServer({ vscode, nvim });
  for (const note of notes) console.error(`protocol-schema: ${note}`);
  if (problems.length) {
    console.error(`protocol-schema: ${problems.length} disagreement(s) with ${path.relative(root, schemaPath)}:`);
    for (const p of problems) console.error(`  - ${p}`);
    process.exit(1);
  }
  console.error('protocol-schema: server and clients agree with editors/protocol.json');
})();
