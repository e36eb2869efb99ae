// Tokenizer parity: for every tests/fixtures/tokenizers/*/tokenizer.json, encodes a corpus of
// hard strings, strings with the file's added tokens inside, and real source files with both
// `maskfill tokenize --jsonl` and @huggingface/tokenizers, and requires identical ids and
// identical decoded text.   usage: node parity.mjs PATH/TO/maskfill [MORE/tokenizer.json ...]
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, "..", "..");
const maskfill = process.argv[2];
if (!maskfill || !fs.existsSync(maskfill)) {
  console.error("usage: node parity.mjs PATH/TO/maskfill [MORE/tokenizer.json ...]");
  process.exit(2);
}

// Real source files: the Python standard library when present, and this repository's sources.
function sourceFiles() {
  const files = [];
  const stdlib = "/usr/lib/python3.11";
  for (const f of ["argparse.py", "difflib.py", "inspect.py", "typing.py", "dataclasses.py", "tokenize.py",
                   "email/_header_value_parser.py", "unicodedata.py", "locale.py", "calendar.py"]) {
    const p = path.join(stdlib, f);
    if (fs.existsSync(p)) files.push(p);
  }
  for (const dir of ["inference", "cli", "tests/tokenizer-parity", "editors"]) {
    const full = path.join(repo, dir);
    if (!fs.existsSync(full)) continue;
    for (const entry of fs.readdirSync(full, { recursive: true })) {
      const p = path.join(full, entry);
      if (/\.(cpp|h|mjs|ts|js|json|md|lua|py)$/.test(p) && !p.includes("node_modules") && fs.statSync(p).isFile()
          && fs.statSync(p).size < 200000)
        files.push(p);
    }
  }
  return files.sort();
}

function corpus(tokenizerJson, hardStrings, files) {
  const texts = [...hardStrings];
  const added = tokenizerJson.added_tokens.map((t) => t.content);
  // Added tokens inside text: alone, glued, spaced, repeated, at both ends, next to each other.
  added.forEach((token, i) => {
    const a = hardStrings[(i * 7 + 9) % hardStrings.length];
    const b = hardStrings[(i * 13 + 20) % hardStrings.length];
    const other = added[(i + 1) % added.length];
    texts.push(token, `${a}${token}${b}`, `${a} ${token} ${b}`, `${token}${token}`, `  ${token}\n\n${token}  x`,
               `${token}${other}text${other}${token}`, `x${token.slice(0, -1)}`, `def f():\n    ${token}return 1\n`);
  });
  texts.push(added.join(""), added.join(" "), added.join("\n"));
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    texts.push(text);
    texts.push(text.slice(0, 2000) + (added[0] ?? "") + text.slice(2000, 4000));
  }
  return texts;
}

const hardStrings = JSON.parse(fs.readFileSync(path.join(here, "hard-strings.json"), "utf8"));
const files = sourceFiles();
const fixtureRoot = path.join(repo, "tests", "fixtures", "tokenizers");
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "maskfill-parity-"));
let passed = 0, failed = 0;

// The fixtures, the bundled model's tokenizer when it exists, and any tokenizer.json given after
// the binary.
const tokenizerFiles = fs.readdirSync(fixtureRoot).sort()
  .map((name) => [name, path.join(fixtureRoot, name, "tokenizer.json")])
  .concat([["maskfill-tiny", path.join(repo, "models", "maskfill-tiny", "tokenizer.json")]])
  .concat(process.argv.slice(3).map((file) => [file, path.resolve(file)]))
  .filter(([, file]) => fs.existsSync(file));

for (const [name, file] of tokenizerFiles) {
  const tokenizerJson = JSON.parse(fs.readFileSync(file, "utf8"));
  const reference = new Tokenizer(tokenizerJson, { clean_up_tokenization_spaces: false });
  const strips = tokenizerJson.added_tokens.some((t) => t.lstrip || t.rstrip);
  const texts = corpus(tokenizerJson, hardStrings, files);
  const input = path.join(workDir, "texts.jsonl");
  fs.writeFileSync(input, texts.map((t) => JSON.stringify(t)).join("\n") + "\n");
  const started = process.hrtime.bigint();
  const output = execFileSync(maskfill, ["tokenize", "--tokenizer", file, "--jsonl", input], {
    maxBuffer: 1 << 30, encoding: "utf8",
  }).trim().split("\n").map((line) => JSON.parse(line));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (output.length !== texts.length) throw new Error(`${name}: ${output.length} results for ${texts.length} texts`);
  let fixturePassed = 0, bytes = 0;
  texts.forEach((text, i) => {
    bytes += Buffer.byteLength(text);
    const ours = output[i];
    const ids = reference.encode(text, { add_special_tokens: false }).ids;
    const decode = (skip) => ids.length === 0 ? "" :
      reference.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
    const problems = [];
    if (JSON.stringify(ours.ids) !== JSON.stringify(ids)) {
      let at = 0;
      while (at < ids.length && ours.ids[at] === ids[at]) ++at;
      problems.push(`ids differ at ${at}: ours ${JSON.stringify(ours.ids.slice(at, at + 8))} ` +
                    `reference ${JSON.stringify(ids.slice(at, at + 8))}`);
    }
    if (ours.decoded !== decode(false)) problems.push("decode differs");
    if (ours.decoded_skip_special !== decode(true)) problems.push("decode(skip_special_tokens) differs");
    if (!strips && ours.decoded !== text) problems.push("decode(encode(text)) != text");
    if (problems.length === 0) {
      ++fixturePassed;
    } else {
      ++failed;
      console.log(`FAIL ${name} text #${i} ${JSON.stringify(text.slice(0, 80))}: ${problems.join("; ")}`);
    }
  });
  passed += fixturePassed;
  console.log(`${name}: ${fixturePassed}/${texts.length} texts identical ` +
              `(${(bytes / 1e6).toFixed(2)} MB, maskfill process ${ms.toFixed(0)} ms incl. load)`);
}
fs.rmSync(workDir, { recursive: true, force: true });
console.log(`tokenizer-parity: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
