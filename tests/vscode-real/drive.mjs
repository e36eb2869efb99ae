// Drives a running code-server (real VS Code 1.139 in the browser) through Debian's headless
// Chromium with puppeteer-core, as a user would: type in a Python file, see maskfill's ghost text,
// accept it with Tab, snooze it from the status menu and resume, fill a selection from the light
// bulb, edit with an instruction, rename a variable and apply a next-edit suggestion, watch the status bar item, break the model path. Started by tests/suites/vscode-real.sh, which owns every
// process; this script only closes the browser it launched.
//
// Usage: node drive.mjs <url> <workspace dir> <machine settings.json> <screenshot dir> [<fake server>]
// Every check waits for a DOM or file condition with a generous deadline; nothing asserts time.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [url, workspace, settingsFile, shots, fakeServer] = process.argv.slice(2);
if (!shots) {
  console.error('usage: drive.mjs <url> <workspace> <settings.json> <screenshot dir>');
  process.exit(2);
}
const MODEL_WAIT_MS = 300_000; // first model load on a loaded 2-core machine
const UI_WAIT_MS = 60_000;

const results = [];
let page;
let shotIndex = 0;

const driverStart = Date.now();
function log(message) {
  console.error(`vscode-real: driver +${((Date.now() - driverStart) / 1000).toFixed(1)}s ${message}`);
}

async function screenshot(name) {
  const file = path.join(shots, `${String(++shotIndex).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
  return file;
}

async function check(name, body) {
  const started = Date.now();
  try {
    const detail = await body();
    results.push(true);
    log(`ok   ${name}${detail ? ` — ${detail}` : ''} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    results.push(false);
    log(`FAIL ${name}: ${error && error.stack ? error.stack : error}`);
    await screenshot(`failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => undefined);
  }
}

// Polls `probe` (returns a truthy value when the condition holds) until the deadline.
async function until(what, probe, timeoutMs = UI_WAIT_MS, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function press(...keys) {
  const modifiers = keys.slice(0, -1);
  for (const key of modifiers) await page.keyboard.down(key);
  await page.keyboard.press(keys[keys.length - 1]);
  for (const key of modifiers.reverse()) await page.keyboard.up(key);
}

// ---- the status bar item ------------------------------------------------------------------

// Installed before the workbench loads: records every distinct look of maskfill's status bar
// item (id maskfill.maskfill: codicon, text, aria-label) so that a short "loading" phase cannot be
// missed, and, apart, other status bar entries that mention maskfill (VS Code's window progress
// for the server's $/progress).
function recordStatusHistory() {
  window.__maskfillStatus = [];
  window.__maskfillOther = [];
  const snapshot = () => {
    for (const item of document.querySelectorAll('.statusbar-item')) {
      const text = (item.textContent || '').replace(/\s+/g, ' ').trim();
      const own = item.id === 'maskfill.maskfill';
      if (!own && !/maskfill/.test(text)) continue;
      const icon = [...item.querySelectorAll('.codicon')].map((c) => [...c.classList].find((k) => k.startsWith('codicon-') && k !== 'codicon-modifier-spin')).join(',');
      const entry = `${icon}|${text}|${item.getAttribute('aria-label') || ''}`;
      const history = own ? window.__maskfillStatus : window.__maskfillOther;
      if (history[history.length - 1] !== entry) history.push(entry);
    }
  };
  new MutationObserver(snapshot).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

async function statusHistory(other = false) {
  return page.evaluate((o) => (o ? window.__maskfillOther : window.__maskfillStatus) || [], other);
}

async function currentStatus() {
  const history = await statusHistory();
  return history[history.length - 1] || '';
}

// ---- editor helpers -----------------------------------------------------------------------

async function openFromExplorer(name, marker = 'def ') {
  const row = await until(`${name} in the explorer`, () => page.evaluateHandle((n) =>
    [...document.querySelectorAll('.explorer-folders-view .monaco-list-row')].find((r) => r.querySelector('.label-name')?.textContent === n) || null, name)
    .then((h) => (h.asElement() ? h : null)));
  await row.click();
  await until(`the editor tab of ${name}`, () => page.$(`.tabs-container .tab.active[aria-label="${name}"]`));
  await until(`the text of ${name} in the editor`, () => page.evaluate((m) =>
    document.querySelector('.editor-instance .monaco-editor .view-lines')?.textContent.replace(/\u00a0/g, ' ').includes(m), marker));
  await page.click('.editor-instance .monaco-editor .view-lines');
}

async function gotoLine(line, column) {
  await press('Control', 'KeyG');
  await until('the go-to-line box', () => page.$('.quick-input-widget:not([style*="display: none"]) input'));
  await page.keyboard.type(column ? `${line}:${column}` : `${line}`);
  await press('Enter');
  await until('the go-to-line box to close', () => page.evaluate(() =>
    !document.querySelector('.quick-input-widget') || getComputedStyle(document.querySelector('.quick-input-widget')).display === 'none'));
}

// Cursor line as the editor shows it ("Ln 17, Col 9" in the status bar).
async function cursorPosition() {
  return page.evaluate(() => {
    const item = [...document.querySelectorAll('.statusbar-item')].find((i) => /^Ln \d+, Col \d+/.test(i.textContent.trim()));
    return item ? item.textContent.trim() : '';
  });
}

// Whether the editor tab of `name` shows unsaved changes.
async function isDirty(name) {
  return page.evaluate((n) => [...document.querySelectorAll('.tabs-container .tab.dirty')].some((t) => t.getAttribute('aria-label') === n), name);
}

// Saves the active editor and returns the file's text once the save has landed on disk.
async function saveAndRead(file) {
  await press('Control', 'KeyS');
  await until('the save to finish', async () => !(await isDirty(path.basename(file))));
  return fs.readFileSync(file, 'utf8');
}

// The ghost text VS Code renders for the inline suggestion: the part on the cursor line, then
// the lines of the view zone below (multi-line suggestions). Non-breaking spaces are spaces.
async function ghostText() {
  return page.evaluate(() => {
    const norm = (s) => s.replace(/\u00a0/g, ' ');
    const inline = [...document.querySelectorAll('.monaco-editor .ghost-text-decoration')].map((e) => norm(e.textContent)).join('');
    const below = [...document.querySelectorAll('.monaco-editor .ghost-text .view-line')].map((e) => norm(e.textContent));
    return { inline, below, count: document.querySelectorAll('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text').length };
  });
}

// maskfill's next-edit decorations in the editor: the struck-through text of each site and the
// text drawn after it (a CSS ::after content; "⏎" stands for a newline).
async function nextEditDecorations() {
  return page.evaluate(() => {
    const norm = (s) => s.replace(/\u00a0/g, ' ');
    const spans = [...document.querySelectorAll('.editor-instance .monaco-editor .view-lines span')].filter((e) => e.children.length === 0);
    const struck = spans.filter((e) => getComputedStyle(e).textDecorationLine.includes('line-through')).map((e) => norm(e.textContent));
    const after = spans.map((e) => getComputedStyle(e, '::after').content)
      .filter((c) => c && c !== 'none' && c !== 'normal')
      .map((c) => c.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1').replace(/⏎/g, '\n'));
    return { struck, after };
  });
}

// Opens the light bulb's menu: waits for the bulb VS Code shows for the selection, clicks it.
async function openLightBulb() {
  const bulb = await until('the light bulb', () => page.evaluateHandle(() => {
    const candidates = [...document.querySelectorAll('.monaco-editor .lightBulbWidget, .monaco-editor .codicon-light-bulb, .monaco-editor .codicon-lightbulb, .monaco-editor .codicon-lightbulb-sparkle, .monaco-editor .codicon-lightbulb-autofix')];
    return candidates.find((e) => e.getBoundingClientRect().width > 0) || null;
  }).then((h) => (h.asElement() ? h : null)));
  await bulb.click();
  return until('the code action menu', () => page.$('.action-widget .monaco-list-row'));
}

async function chooseAction(title) {
  const row = await until(`the action "${title}"`, () => page.evaluateHandle((t) =>
    [...document.querySelectorAll('.action-widget .monaco-list-row')].find((r) => r.textContent.includes(t)) || null, title)
    .then((h) => (h.asElement() ? h : null)));
  const titles = await page.evaluate(() => [...document.querySelectorAll('.action-widget .monaco-list-row')].map((r) => r.textContent.trim()));
  await row.click();
  return titles;
}

// Selects whole lines first..last (1-based, inclusive) with the keyboard.
async function selectLines(first, last) {
  await gotoLine(first, 1);
  await press('Home');
  await press('Home'); // twice: the first may stop at the indentation
  for (let line = first; line < last; line++) await press('Shift', 'ArrowDown');
  await press('Shift', 'End');
}

// ---- the suite ----------------------------------------------------------------------------

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir: fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'maskfill-chromium-')),
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-default-apps', '--window-size=1400,900',
    ],
    defaultViewport: { width: 1400, height: 900 },
  });
  try {
    page = await browser.newPage();
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
    await page.evaluateOnNewDocument(recordStatusHistory);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: UI_WAIT_MS });
    await check('the workbench loads with the workspace', async () => {
      await until('the explorer', () => page.$('.explorer-folders-view .monaco-list-row'), 120_000);
      await screenshot('workbench');
    });
    await runChecks();
  } finally {
    await browser.close().catch(() => undefined);
  }
  const failed = results.filter((r) => !r).length;
  log(`${results.length - failed}/${results.length} checks passed`);
  process.exit(failed ? 1 : 0);
}

async function runChecks() {
  const inlineFile = path.join(workspace, 'inline.py');
  const fillFile = path.join(workspace, 'fill.py');
  const editFile = path.join(workspace, 'edit.py');
  const original = fs.readFileSync(inlineFile, 'utf8');

  await check('opening a Python file starts maskfill; the status item goes loading → ready', async () => {
    await openFromExplorer('inline.py');
    await until('the status item to say ready', async () => (await currentStatus()).startsWith('codicon-check|'), MODEL_WAIT_MS);
    const history = await statusHistory();
    const loading = history.findIndex((e) => /codicon-sync\|.*maskfill: loading/.test(e));
    const ready = history.findIndex((e) => /^codicon-check\|maskfill\b/.test(e));
    if (loading < 0 || ready < loading) throw new Error(`expected loading before ready, saw ${JSON.stringify(history)}`);
    await screenshot('status-ready');
    const texts = (h) => h.map((e) => e.split('|')[1]).filter((t, i, all) => i === 0 || t !== all[i - 1]);
    const progress = texts(await statusHistory(true));
    return `${texts(history).join(' → ')}; progress entries: ${progress.length ? [...new Set(progress)].join(', ') : 'none'}`;
  });

  await check('typing on line 17 shows ghost text; Tab accepts it into the document', async () => {
    await gotoLine(17, 9);
    const typed = 'w';
    await page.keyboard.type(typed);
    const ghost = await until('ghost text (.ghost-text-decoration)', async () => {
      const g = await ghostText();
      return g.inline.trim() || g.below.some((l) => l.trim()) ? g : null;
    }, MODEL_WAIT_MS);
    await screenshot('ghost-text');
    await press('Tab');
    await until('the ghost text to be accepted', async () => (await ghostText()).count === 0);
    await screenshot('ghost-text-accepted');
    const saved = await saveAndRead(inlineFile);
    const lines = original.split('\n');
    const expectedLine = lines[16] + typed + ghost.inline;
    const savedLines = saved.split('\n');
    if (savedLines[16] !== expectedLine) {
      throw new Error(`line 17 on disk is ${JSON.stringify(savedLines[16])}, expected ${JSON.stringify(expectedLine)}`);
    }
    for (let i = 0; i < ghost.below.length; i++) {
      if (savedLines[17 + i] !== ghost.below[i]) throw new Error(`line ${18 + i} on disk is ${JSON.stringify(savedLines[17 + i])}, ghost showed ${JSON.stringify(ghost.below[i])}`);
    }
    const rest = savedLines.slice(17 + ghost.below.length).join('\n');
    if (rest !== lines.slice(17).join('\n')) throw new Error(`the lines after the completion changed:\n${rest}`);
    return `ghost ${JSON.stringify(typed + ghost.inline)}${ghost.below.length ? ` + ${ghost.below.length} line(s)` : ''}, on disk, cursor ${await cursorPosition()}`;
  });

  await check('the status menu snoozes ghost text for 5 minutes; Resume brings it back', async () => {
    await pickFromStatusMenu('Snooze for 5 minutes');
    await until('the status item to say snoozed', async () => /^codicon-clock\|maskfill: snoozed/.test(await currentStatus()));
    await screenshot('snoozed');
    await gotoLine(10, 5); // the empty line in clamp()
    await page.keyboard.type('i');
    // A negative check needs a wait: 5 s is over 30 times the debounce plus a model step here,
    // and a slower machine can only make a wrong ghost less likely to show, never fail this.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const snoozedGhost = await ghostText();
    if (snoozedGhost.count !== 0) throw new Error(`ghost text while snoozed: ${JSON.stringify(snoozedGhost)}`);
    await pickFromStatusMenu('Resume suggestions');
    await until('the status item to say ready again', async () => (await currentStatus()).startsWith('codicon-check|'));
    // The menu was opened by a click on the status item, and closing it may leave the focus
    // there: back to the editor, after the typed "i", before typing on.
    await gotoLine(10, 6);
    await page.keyboard.type('f');
    const ghost = await until('ghost text after resuming', async () => {
      const g = await ghostText();
      return g.inline.trim() || g.below.some((l) => l.trim()) ? g : null;
    }, MODEL_WAIT_MS);
    await screenshot('resumed-ghost');
    await press('Escape');
    await press('Control', 'KeyZ'); // the typed "if": inline.py is left as the accept test saved it
    return `nothing shown while snoozed; after Resume ${JSON.stringify('if' + ghost.inline)}`;
  });

  await check('"Fill selection with maskfill" from the light bulb applies one undoable edit', async () => {
    await openFromExplorer('fill.py');
    const before = fs.readFileSync(fillFile, 'utf8');
    await selectLines(5, 5); // the empty body of mean()
    await openLightBulb();
    await screenshot('fill-light-bulb');
    const titles = await chooseAction('Fill selection with maskfill');
    if (!titles.some((t) => t.includes('Edit with instruction'))) throw new Error(`the menu lacks "Edit with instruction…": ${JSON.stringify(titles)}`);
    await until('the fill to change the document', () => isDirty('fill.py'), MODEL_WAIT_MS);
    await screenshot('fill-applied');
    const filled = await saveAndRead(fillFile);
    if (filled === before) throw new Error('the file did not change');
    await page.click('.editor-instance .monaco-editor .view-lines');
    await press('Control', 'KeyZ');
    const undone = await saveAndRead(fillFile);
    if (undone !== before) throw new Error(`one Ctrl+Z did not restore the file:\n${undone}`);
    await screenshot('fill-undone');
    return `${diffSummary(before, filled)}; one Ctrl+Z restored it`;
  });

  await check('"Edit with instruction…" asks for the instruction and applies one undoable edit', async () => {
    await openFromExplorer('edit.py');
    const before = fs.readFileSync(editFile, 'utf8');
    await selectLines(7, 11); // clamp()
    await openLightBulb();
    await chooseAction('Edit with instruction');
    const input = await until('the instruction input box', () => page.$('.quick-input-widget:not([style*="display: none"]) input'));
    await input.type('Add a docstring.');
    await screenshot('edit-instruction-box');
    await press('Enter');
    const previewTab = await acceptPreview('edit.py');
    await until('the edit to change the document', () => isDirty('edit.py'), MODEL_WAIT_MS);
    await until('edit.py to be the active editor again', () => page.$('.tabs-container .tab.active[aria-label="edit.py"]'));
    await screenshot('edit-applied');
    const edited = await saveAndRead(editFile);
    if (edited === before) throw new Error('the file did not change');
    await page.click('.editor-instance .monaco-editor .view-lines');
    await press('Control', 'KeyZ');
    const undone = await saveAndRead(editFile);
    if (undone !== before) throw new Error(`one Ctrl+Z did not restore the file:\n${undone}`);
    return `preview "${previewTab}" accepted; ${diffSummary(before, edited)}; one Ctrl+Z restored it`;
  });

  // JavaScript, where this profile turns VS Code's ghost text off: Tab and Escape are then
  // maskfill's next-edit keys only (with ghost text shown, Tab accepts it first). The bundled
  // model's text is not asserted, only where it lands: nextEdit.minConfidence is 0 in this
  // profile, so the tiny model's low-confidence answers are drawn rather than withheld.
  await check('renaming a variable draws next-edit suggestions; Tab jumps, Tab applies one site in one undo step, Escape dismisses', async () => {
    const renameFile = path.join(workspace, 'rename.js');
    const before = fs.readFileSync(renameFile, 'utf8');
    await openFromExplorer('rename.js', 'function ');
    await gotoLine(2, 7); // `total` in `let total = 0;`
    await press('Control', 'Shift', 'ArrowRight');
    await page.keyboard.type('acc');
    const shown = await until('next-edit decorations (struck-through sites)', async () => {
      const d = await nextEditDecorations();
      return d.struck.length && d.after.length ? d : null;
    }, MODEL_WAIT_MS);
    if (!shown.struck.every((t) => t === 'total')) throw new Error(`struck text is not the old name: ${JSON.stringify(shown)}`);
    await screenshot('next-edit-shown');
    // The other uses of `total`, by the cursor position Tab moves to: line 4 and line 6.
    const uses = { 'Ln 4, Col 5': '    total += x;', 'Ln 6, Col 10': '  return total / xs.length;' };
    await press('Tab');
    const at = await until('Tab to move the cursor to a site (line 4 or 6)', async () => {
      const position = await cursorPosition();
      return Object.keys(uses).find((p) => position.startsWith(p)) || null;
    });
    await press('Tab');
    await until('the site to be applied (one decoration fewer)', async () => (await nextEditDecorations()).struck.length < shown.struck.length);
    await screenshot('next-edit-applied');
    const renamed = before.replace('let total', 'let acc');
    const applied = await saveAndRead(renameFile);
    const expected = shown.after.map((text) => renamed.replace(uses[at], () => uses[at].replace('total', text)));
    if (!expected.includes(applied)) throw new Error(`the file is not the rename plus the site at ${at} applied:\n${applied}\nshown: ${JSON.stringify(shown)}`);
    await press('Escape');
    await until('Escape to clear the decorations', async () => (await nextEditDecorations()).struck.length === 0);
    await press('Control', 'KeyZ');
    const undone = await saveAndRead(renameFile);
    if (undone !== renamed) throw new Error(`one Ctrl+Z did not take back exactly the applied site:\n${undone}`);
    return `${shown.struck.length} site(s) drawn (${JSON.stringify(shown.after)}); Tab went to ${at}, Tab applied it; one Ctrl+Z restored it`;
  });

  await check('a broken maskfill.modelPath shows the error state with its reason', async () => {
    const broken = path.join(workspace, 'no-such-model');
    const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
    settings['maskfill.modelPath'] = broken;
    fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
    await until('the status item to show the error', async () => (await currentStatus()).startsWith('codicon-error|'), MODEL_WAIT_MS);
    const item = await page.$('.statusbar-item[id="maskfill.maskfill"]');
    await item.hover();
    const reason = await until('the tooltip with the reason', () => page.evaluate(() => {
      const hover = [...document.querySelectorAll('.workbench-hover, .monaco-hover')].find((h) => /maskfill server: error/.test(h.textContent));
      return hover ? hover.textContent : null;
    }));
    if (!reason.includes('no-such-model')) throw new Error(`the tooltip does not name the broken path: ${JSON.stringify(reason)}`);
    await screenshot('error-state');
    return JSON.stringify(reason.slice(0, 160));
  });

  // The extension's part of next edits in a file that is not open, with the scripted server of
  // the client suites (editors/nvim/tests/fake_server.js) in place of maskfill: the real server's
  // part is its own unit test, and the bundled model's text in such a site varies with the
  // prompt cache's state. The fake names every `total` in the workspace's files that are not open
  // (version null, oldText), as the real server does from its index.
  if (fakeServer) await check('a next edit in a file that is not open: Tab opens it at the site, Tab applies it in one undo step', async () => {
    const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
    settings['maskfill.serverPath'] = fakeServer;
    fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
    await until('the scripted server to be ready', async () => (await currentStatus()).startsWith('codicon-check|'), UI_WAIT_MS);
    const diskFile = path.join(workspace, 'totals.js');
    const before = fs.readFileSync(diskFile, 'utf8');
    const tabs = await page.evaluate(() => [...document.querySelectorAll('.tabs-container .tab')].map((t) => t.getAttribute('aria-label')));
    if (tabs.includes('totals.js')) throw new Error(`totals.js is open already: ${JSON.stringify(tabs)}`);
    await openFromExplorer('rename.js', 'function ');
    // What the real server drew after the previous check's Ctrl+Z may still be shown: cleared first.
    await press('Escape');
    await until('no next-edit decorations before the edit', async () => (await nextEditDecorations()).struck.length === 0);
    await press('Control', 'End'); // after every site of rename.js: Tab goes on to the next document
    await page.keyboard.type(' ');
    await until('the scripted next edits drawn in rename.js (its two `total`s → `acc`)', async () => {
      const d = await nextEditDecorations();
      return d.struck.length === 2 && d.after.every((t) => t === 'acc');
    }, UI_WAIT_MS);
    await press('Tab');
    await until('Tab to open totals.js', () => page.$('.tabs-container .tab.active[aria-label="totals.js"]'), UI_WAIT_MS);
    const shown = await until('the sites drawn in totals.js', async () => {
      const d = await nextEditDecorations();
      return d.struck.length === 2 ? d : null;
    });
    if (!shown.struck.every((t) => t === 'total') || !shown.after.every((t) => t === 'acc')) throw new Error(`unexpected sites: ${JSON.stringify(shown)}`);
    const at = await cursorPosition();
    if (!at.startsWith('Ln 1, Col 7')) throw new Error(`Tab put the cursor at ${at}, not on the first site (Ln 1, Col 7)`);
    await screenshot('next-edit-disk-file');
    await press('Tab');
    await until('the site to be applied (one decoration fewer)', async () => (await nextEditDecorations()).struck.length === 1);
    const applied = await saveAndRead(diskFile);
    const expected = before.replace('total', 'acc');
    if (applied !== expected) throw new Error(`totals.js is not the first site applied:\n${applied}`);
    await press('Escape');
    await until('Escape to clear the decorations', async () => (await nextEditDecorations()).struck.length === 0);
    await press('Control', 'KeyZ');
    const undone = await saveAndRead(diskFile);
    if (undone !== before) throw new Error(`one Ctrl+Z did not restore totals.js:\n${undone}`);
    return `Tab opened totals.js at ${at} with ${shown.struck.length} sites; Tab applied one; one Ctrl+Z restored the file`;
  });
}

// Clicks maskfill's status bar item and picks `label` from the quick pick it opens.
async function pickFromStatusMenu(label) {
  await page.click('.statusbar-item[id="maskfill.maskfill"]');
  const row = await until(`"${label}" in the maskfill menu`, () => page.evaluateHandle((l) =>
    [...document.querySelectorAll('.quick-input-widget .monaco-list-row')].find((r) => r.textContent.includes(l)) || null, label)
    .then((h) => (h.asElement() ? h : null)));
  await screenshot(`menu-${label.split(' ')[0].toLowerCase()}`);
  await row.click();
  await until('the menu to close', () => page.evaluate(() =>
    !document.querySelector('.quick-input-widget') || getComputedStyle(document.querySelector('.quick-input-widget')).display === 'none'));
}

// The extension shows the proposed instruction edit in a diff editor and asks Accept / Discard
// in a notification (maskfill.instructionEdit.preview, on by default): the user reads the diff,
// then clicks Accept.
async function acceptPreview(name) {
  const accept = await until('the Accept / Discard notification of the preview', () => page.evaluateHandle(() => {
    const toast = [...document.querySelectorAll('.notification-toast')].find((t) => /apply the edit/.test(t.textContent));
    return toast ? [...toast.querySelectorAll('a.monaco-button, .monaco-button')].find((b) => b.textContent.trim() === 'Accept') || null : null;
  }).then((h) => (h.asElement() ? h : null)), MODEL_WAIT_MS);
  await until('the diff editor of the preview with its changes', () => page.$('.monaco-diff-editor .editor.modified .line-insert, .monaco-diff-editor .editor.modified .char-insert, .monaco-diff-editor .editor.original .line-delete'));
  const tab = await page.evaluate(() => document.querySelector('.tabs-container .tab.active')?.getAttribute('aria-label'));
  if (await isDirty(name)) throw new Error(`${name} changed before Accept was clicked`);
  await screenshot('edit-preview');
  await accept.click();
  await until('the preview to close', async () => !(await page.$('.monaco-diff-editor')));
  return tab;
}

function diffSummary(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  return `lines ${start + 1}-${endA} became ${JSON.stringify(b.slice(start, endB).join('\n').slice(0, 120))}`;
}

main().catch((error) => {
  log(`driver failed: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
