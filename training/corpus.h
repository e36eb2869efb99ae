// Training corpus from source files that Debian packages installed on this machine.
//
// Usage:
//   CorpusOptions opt;
//   opt.package_list_path = "training/packages.txt";
//   CorpusManifest corpus = gather_corpus(opt);          // reads files, dedups, splits
//   write_corpus(corpus, "data/corpus");                  // manifest.jsonl + shards
//   ...later, in another process:
//   for_each_document("data/corpus", Split::Train, [](const CorpusDocument& d) { ... });
//
// A line `npm:NAME@VERSION` names a package of the npm registry instead (JavaScript, TypeScript and
// the Java of React Native and Cordova modules, which Debian barely packages as source): it is
// fetched with `npm pack` (no install, no scripts) into the cache, its licence is package.json's
// `license` (an SPDX expression), and its files are named /node_modules/NAME/....
// The package list (one package a line, with options) makes the corpus reproducible: the same
// package versions give the same manifest, byte for byte. A package that is not installed is
// downloaded with `apt-get download` and unpacked with `dpkg-deb -x` into a cache folder
// (CorpusOptions::cache_dir), so a large corpus needs no installs. Licences come from the
// package's /usr/share/doc/PKG/copyright (DEP-5 "Files: *" stanza) or, for packages whose
// copyright file is not machine-readable, from the list's `licence=` option, checked by hand.
// Train/validation is decided per package (a salted hash of its name, or `split=validation`),
// so no package is on both sides and a package stays on its side when the list grows.
// Content-identical files are kept once, and so are near-duplicates (MinHash over token
// shingles with LSH banding): no validation text is trained on, not even a lightly edited copy.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace maskfill::training {

enum class Split { Train, Validation };
const char* split_name(Split split);  // "train" / "validation"

// One line of packages.txt:
//   PACKAGE [ext=py,pyi] [under=/usr/lib/python3.11] [exclude=/test/,/_vendor/]
//           [licence=PSF-2.0] [max_mb=3] [lang=c] [split=validation]
struct PackageSource {
  std::string package;                  // Debian package, or "npm:NAME" for an npm line
  std::string npm_version;              // the pinned version of an npm line; empty for Debian's
  std::vector<std::string> extensions;  // without dots; default: py js mjs cjs ts h hpp hh c cc cpp
  std::vector<std::string> under;       // path prefixes (any); empty = all of the package's files
  std::vector<std::string> exclude;     // substrings; a path containing one is skipped
  std::string licence;                  // fallback when the copyright file is not DEP-5
  double max_mb = 0;                    // cap on this package's bytes (0 = none); files chosen by path hash
  std::string language;                 // overrides the extension's language (e.g. "c" for .h)
  bool validation_only = false;         // split=validation: the whole package is held out
};
// Throws std::runtime_error naming the line for unknown options or malformed lines.
std::vector<PackageSource> parse_package_list(const std::string& text);
// The licence of an npm package.json: `license` (an SPDX expression, outer parentheses dropped),
// or the legacy `license: {type}` / `licenses: [{type}]`; "" when it names none or is not JSON.
std::string npm_licence(const std::string& package_json);

struct CorpusFile {
  std::string path;      // absolute installed path
  std::string file;      // where it was read (a cache folder) when not installed; empty = path
  std::string package;
  std::string version;   // installed Debian version
  std::string licence;   // short name (SPDX-like as Debian writes it)
  std::string language;  // "python", "javascript", "typescript", "go", "rust", "java", "c", "cpp"
  Split split = Split::Train;
  uint64_t bytes = 0;
  std::string sha1;      // of the content, hex
};

struct CorpusManifest {
  std::vector<CorpusFile> files;  // sorted by path
  // Why files were left out (reason -> count): "too-large", "generated", "duplicate",
  // "near-duplicate", ...
  std::vector<std::pair<std::string, uint64_t>> skipped;
  // Sizes at each step: files that passed the per-file filters, after exact and after near
  // deduplication (the last equals `files`), and the packages that gave at least one file.
  struct Stage {
    uint64_t files = 0, bytes = 0;
  } candidates, after_exact, after_near;
  uint64_t packages_used = 0;
  double seconds = 0;
};

enum class SplitBy { Package, Path };

struct CorpusOptions {
  std::string package_list_path = "training/packages.txt";
  std::string dpkg_info_dir = "/var/lib/dpkg/info";
  std::string dpkg_status_path = "/var/lib/dpkg/status";
  std::string doc_dir = "/usr/share/doc";
  uint64_t min_file_bytes = 64;
  uint64_t max_file_bytes = 200 * 1024;
  double validation_fraction = 0.1;
  SplitBy split_by = SplitBy::Package;
  std::string split_salt = "maskfill-corpus-v1";
  // Packages that are not installed are read from CACHE/root/PKG (dpkg-deb -x), downloaded into
  // CACHE/debs first when `download` is set. npm packages: CACHE/npm/NAME@VERSION/*.tgz (npm
  // pack), unpacked to CACHE/root/npm/NAME@VERSION ('/' of a scope as '+'). Empty: installed
  // Debian packages only.
  std::string cache_dir;
  bool download = true;
  // Near-duplicate removal: a file whose estimated Jaccard similarity (MinHash of 5-token
  // shingles) with an already kept file reaches this is dropped. 0 = exact dedup only.
  double near_duplicate_jaccard = 0.8;
  // The eval's task files (samples/eval/*.jsonl): a train-split file that contains a task (its
  // prompt's last two lines and its solution, see EvalTaskIndex) is left out ("eval-task"), so no
  // copy of an eval function in another package is trained on. Empty: no such check.
  std::vector<std::string> eval_task_files;
  // Licence short names accepted (case-insensitive prefix match); others skip the package.
  std::vector<std::string> allowed_licences = {"expat", "mit", "bsd", "apache", "psf", "python",
                                               "bsl-1.0", "boost", "isc", "zlib", "artistic-2.0"};
};

// Throws std::runtime_error when the package list is missing or malformed. Packages that are
// not installed or not permissively licensed are logged (stderr) and counted in `skipped`.
CorpusManifest gather_corpus(const CorpusOptions& options);

// Writes OUT/manifest.jsonl (one CorpusFile per line) and OUT/{train,validation}-NNNNN.jsonl
// shards of {"path","language","text"} lines, each at most about `shard_bytes`.
void write_corpus(const CorpusManifest& manifest, const std::string& out_dir,
                  uint64_t shard_bytes = 8u << 20);
CorpusManifest read_manifest(const std::string& manifest_path);
// Markdown tables: sizes before/after exact and near dedup, splits, per-language shares,
// licences, packages per family, skip reasons, wall time. write_corpus also writes it to
// OUT/report.md.
std::string corpus_report(const CorpusManifest& manifest);

struct CorpusDocument {
  std::string path;
  std::string language;
  std::string text;
};
// Streams the documents of one split from the shards written by write_corpus, in order.
void for_each_document(const std::string& corpus_dir, Split split,
                       const std::function<void(const CorpusDocument&)>& visit);

// Building blocks, exposed for tests and for other stages.
Split split_for_path(const std::string& path, double validation_fraction, const std::string& salt);
Split split_for_package(const std::string& package, double validation_fraction, const std::string& salt);
std::string language_for_extension(const std::string& path);  // "python", "go", ...; "cpp" for headers

// MinHash over the set of 5-token shingles of `text` (tokens: identifier/number runs and single
// punctuation characters; whitespace and layout are ignored). Empty for texts under 5 tokens.
constexpr int kMinHashSize = 128;
std::vector<uint32_t> minhash_signature(const std::string& text);
double signature_similarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);  // est. Jaccard

// LSH (16 bands of 8 rows): candidates share a band; a candidate is a duplicate when its
// signatures agree on at least `jaccard` of the positions.
class NearDuplicateIndex {
 public:
  explicit NearDuplicateIndex(double jaccard) : jaccard_(jaccard) {}
  // True (and the signature is kept) when no kept signature is a near-duplicate of it.
  bool insert_if_new(const std::vector<uint32_t>& signature);

 private:
  double jaccard_;
  std::vector<std::vector<uint32_t>> kept_;
  std::vector<std::unordered_multimap<uint64_t, uint32_t>> bands_;
};
// Finds eval tasks in source files, whatever the indentation and blank lines: a task is the
// sequence of its prompt's last two non-blank lines and its solution's non-blank lines, each
// trimmed; tasks whose sequence is under 40 characters are too generic to look for.
class EvalTaskIndex {
 public:
  // Lines of JSON with "prompt" and "canonical_solution"; throws naming a file it cannot read.
  static EvalTaskIndex from_files(const std::vector<std::string>& paths);
  void add(const std::string& prompt, const std::string& solution);
  bool found_in(const std::string& text) const;
  size_t size() const { return tasks_; }

 private:
  std::map<size_t, std::unordered_set<std::string>> by_lines_;  // line count -> joined sequences
  size_t tasks_ = 0;
};

std::string licence_from_copyright(const std::string& copyright_text);  // "" if not DEP-5
std::string sha1_hex(const std::string& bytes);
std::string read_file(const std::string& path);  // throws std::runtime_error naming the path
// Empty when the text looks hand-written; otherwise why not ("generated", "minified", "binary").
std::string generated_reason(const std::string& text);

}  // namespace maskfill::training
