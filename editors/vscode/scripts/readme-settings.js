#!/usr/bin/env node
// Writes the settings table of editors/vscode/README.md (between the settings:begin and
// settings:end markers) from editors/protocol.json, so the README cannot drift from the schema:
// every setting whose `clients` include vscode, with its default and description.
//   node scripts/readme-settings.js          rewrites the README
//   node scripts/readme-settings.js --check  exits 1 when the README is not what it would write
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const readmePath = path.join(here, 'README.md');
const schema = JSON.parse(fs.readFileSync(path.join(here, '..', 'protocol.json'), 'utf8'));
const BEGIN = '<!-- settings:begin (generated from editors/protocol.json by scripts/readme-settings.js) -->';
const END = '<!-- settings:end -->';

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table() {
  const rows = ['| Setting | Default | Description |', '| --- | --- | --- |'];
  for (const [name, spec] of Object.entries(schema.settings)) {
    if (!(spec.clients || []).includes('vscode')) continue;
    rows.push(`| \`${schema.section}.${name}\` | \`${cell(JSON.stringify(spec.default))}\` | ${cell(spec.description)} |`);
  }
  return rows.join('\n');
}

const readme = fs.readFileSync(readmePath, 'utf8');
const start = readme.indexOf(BEGIN);
const end = readme.indexOf(END);
if (start < 0 || end < start) {
  console.error(`readme-settings: ${readmePath} lacks the markers ${BEGIN} … ${END}`);
  process.exit(2);
}
const wanted = `${readme.slice(0, start + BEGIN.length)}\n${table()}\n${readme.slice(end)}`;
if (process.argv.includes('--check')) {
  if (wanted !== readme) {
    console.error('readme-settings: editors/vscode/README.md is out of date with editors/protocol.json; run `node editors/vscode/scripts/readme-settings.js`');
    process.exit(1);
  }
  console.error('readme-settings: README settings match editors/protocol.json');
} else {
  fs.writeFileSync(readmePath, wanted);
}
