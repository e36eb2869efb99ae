// Regenerates tests/fixtures/tokenizers/*/tokenizer.json: small byte-level BPE tokenizers in
// HF format, one per pre-tokenizer family the C++ tokenizer must match (Seed-Coder's regex and
// special tokens; GPT-2's ByteLevel regex; Llama-3's Split regex with [a, b] merges and
// ignore_merges). Deterministic: the same inputs give byte-identical files.
//   cd tests/tokenizer-parity && npm ci && node make-fixtures.mjs
// Training text: hard-strings.json plus a few Python 3.11 standard-library files.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "..", "fixtures", "tokenizers");

const SEED_CODER_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Seed-Coder-8B-Instruct's chat template (the reference notes, §2.1; the two-newline variant).
const SEED_CODER_CHAT_TEMPLATE =
  "{% set has_system = messages[0]['role'] == 'system' %}\n" +
  "{% if not has_system %}{{ bos_token + 'system\\nYou are an AI programming assistant, utilizing the Seed-Coder " +
  "model, developed by ByteDance Seed, and you only answer questions related to computer science. For politically " +
  "sensitive questions, security and privacy issues, and other non-computer science questions, you will refuse to " +
  "answer.\\n\\n' + eos_token }}{% endif %}\n" +
  "{% for message in messages %}{{ bos_token + message['role'] + '\\n' + message['content'] | trim + eos_token }}" +
  "{% endfor %}\n{% if add_generation_prompt %}{{ bos_token + 'assistant\\n'}}{% endif %}";

const TRAINING_FILES = ["textwrap.py", "string.py", "json/encoder.py", "json/decoder.py", "shlex.py"].map(
  (f) => `/usr/lib/python3.11/${f}`,
);

function trainingText() {
  const parts = JSON.parse(fs.readFileSync(path.join(here, "hard-strings.json"), "utf8"));
  for (const file of TRAINING_FILES) {
    if (!fs.existsSync(file)) throw new Error(`training file ${file} is missing (python3.11 stdlib)`);
    parts.push(fs.readFileSync(file, "utf8"));
  }
  return parts;
}

// GPT-2's byte -> printable character table (what byte-level vocabularies are written in).
function byteSymbols() {
  const printable = (b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const symbols = [];
  let next = 256;
  for (let b = 0; b < 256; ++b) symbols.push(String.fromCodePoint(printable(b) ? b : next++));
  return symbols;
}

function preTokenizerPieces(preTokenizer, texts) {
  const symbols = byteSymbols();
  const vocab = Object.fromEntries(symbols.map((s, i) => [s, i]));
  const probe = new Tokenizer(
    {
      model: { type: "BPE", vocab, merges: [] },
      pre_tokenizer: preTokenizer,
      normalizer: null,
      decoder: { type: "ByteLevel" },
      post_processor: null,
      added_tokens: [],
    },
    {},
  );
  const counts = new Map();
  for (const text of texts)
    for (const piece of probe.pre_tokenizer(text)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  return counts;
}

// Classic BPE training on piece counts; ties go to the smallest "left right" string.
function learnMerges(pieceCounts, mergeCount) {
  const words = [...pieceCounts].map(([piece, count]) => ({ symbols: Array.from(piece), count }));
  const merges = [];
  for (let m = 0; m < mergeCount; ++m) {
    const pairs = new Map();
    for (const word of words)
      for (let i = 0; i + 1 < word.symbols.length; ++i) {
        const key = word.symbols[i] + " " + word.symbols[i + 1];
        pairs.set(key, (pairs.get(key) ?? 0) + word.count);
      }
    let best = null;
    for (const [key, count] of pairs)
      if (!best || count > best[1] || (count === best[1] && key < best[0])) best = [key, count];
    if (!best || best[1] < 2) break;
    const [left, right] = best[0].split(" ");
    merges.push([left, right]);
    for (const word of words) {
      const merged = [];
      for (let i = 0; i < word.symbols.length; ++i) {
        if (i + 1 < word.symbols.length && word.symbols[i] === left && word.symbols[i + 1] === right) {
          merged.push(left + right);
          ++i;
        } else merged.push(word.symbols[i]);
      }
      word.symbols = merged;
    }
  }
  return merges;
}

function addedToken(id, content, flags = {}) {
  const special = flags.special ?? true;
  return {
    id,
    content,
    single_word: false,
    lstrip: flags.lstrip ?? false,
    rstrip: flags.rstrip ?? false,
    normalized: flags.normalized ?? !special,
    special,
  };
}

function buildTokenizer({ preTokenizer, leadingAdded, trailingAdded, mergeCount, pairMerges, ignoreMerges, texts }) {
  const vocab = {};
  let next = 0;
  for (const token of leadingAdded) vocab[token.content] = next++;
  for (const symbol of byteSymbols()) vocab[symbol] = next++;
  const merges = learnMerges(preTokenizerPieces(preTokenizer, texts), mergeCount);
  for (const [left, right] of merges) if (!(left + right in vocab)) vocab[left + right] = next++;
  const trailing = trailingAdded.map((t, i) => addedToken(next + i, t.content, t));
  for (const token of trailing) vocab[token.content] = token.id;
  const model = {
    type: "BPE",
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    vocab,
    merges: pairMerges ? merges : merges.map(([l, r]) => `${l} ${r}`),
  };
  if (ignoreMerges !== undefined) model.ignore_merges = ignoreMerges;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...leadingAdded.map((t, i) => addedToken(i, t.content, t)), ...trailing],
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model,
  };
}

function write(name, tokenizer, extraFiles = {}) {
  const dir = path.join(fixtures, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tokenizer, null, 1) + "\n");
  for (const [file, content] of Object.entries(extraFiles))
    fs.writeFileSync(path.join(dir, file), JSON.stringify(content, null, 2) + "\n");
  console.log(`${name}: ${Object.keys(tokenizer.model.vocab).length} tokens, ${tokenizer.model.merges.length} merges`);
}

const texts = trainingText();

// (a) Seed-Coder style: its regex, DeepSeek-style Split + ByteLevel(use_regex false), its
// special-token strings with BOS 0, PAD 1, EOS 2, MASK 5, the FIM tokens, and two extra added
// tokens that exercise lstrip/rstrip and a non-special ("normalized") token.
write(
  "seedcoder-style",
  buildTokenizer({
    preTokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: SEED_CODER_REGEX }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    leadingAdded: [
      { content: "<[begin▁of▁sentence]>" },
      { content: "<[PAD▁TOKEN]>" },
      { content: "<[end▁of▁sentence]>" },
      { content: "<[SEP▁TOKEN]>" },
      { content: "<[reserved▁4]>" },
      { content: "<[MASK_TOKEN]>" },
      { content: "<[fim-prefix]>" },
      { content: "<[fim-middle]>" },
      { content: "<[fim-suffix]>" },
    ],
    trailingAdded: [
      { content: "<[strip▁both]>", lstrip: true, rstrip: true },
      { content: "<|tab|>", special: false },
    ],
    mergeCount: 3000,
    pairMerges: false,
    texts,
  }),
  {
    "tokenizer_config.json": {
      add_bos_token: false,
      add_eos_token: false,
      bos_token: { content: "<[begin▁of▁sentence]>", lstrip: false, normalized: true, rstrip: false, single_word: false },
      eos_token: "<[end▁of▁sentence]>",
      pad_token: "<[PAD▁TOKEN]>",
      mask_token: "<[MASK_TOKEN]>",
      clean_up_tokenization_spaces: false,
      model_max_length: 8192,
      tokenizer_class: "PreTrainedTokenizerFast",
      chat_template: SEED_CODER_CHAT_TEMPLATE,
    },
  },
);

// (b) GPT-2 style: ByteLevel alone with its built-in regex, "a b" merges.
write(
  "gpt2-style",
  buildTokenizer({
    preTokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    leadingAdded: [],
    trailingAdded: [{ content: "<|endoftext|>" }],
    mergeCount: 3000,
    pairMerges: false,
    texts,
  }),
);

// (c) Llama-3 style: Split with the Llama-3 regex, ByteLevel(use_regex false), [a, b] merges,
// ignore_merges, and its header/eot special tokens.
write(
  "llama3-style",
  buildTokenizer({
    preTokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: LLAMA3_REGEX }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    leadingAdded: [],
    trailingAdded: [
      { content: "<|begin_of_text|>" },
      { content: "<|end_of_text|>" },
      { content: "<|start_header_id|>" },
      { content: "<|end_header_id|>" },
      { content: "<|eot_id|>" },
    ],
    mergeCount: 3000,
    pairMerges: true,
    ignoreMerges: true,
    texts,
  }),
);
