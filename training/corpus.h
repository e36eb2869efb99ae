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
// The package list (one package a line, with options) makes the corpus reproducible: the same
// installed package versions give the same manifest, byte for byte. Licences come from the
// package's /usr/share/doc/PKG/copyright (DEP-5 "Files: *" stanza) or, for packages whose
// copyright file is not machine-readable, from the list's `licence=` option, checked by hand.
// Train/validation is decided by a salted hash of the file's path, so a file stays on its side
// when the list grows; content-identical files are kept once (the first by path), so no
// validation text is ever trained on.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace maskfill::training {

enum class Split { Train, Validation };
const char* split_name(Split split);  // "train" / "validation"

// One line of packages.txt:
//   PACKAGE [ext=py,pyi] [under=/usr/lib/python3.11] [exclude=/test/,/_vendor/]
//           [licence=PSF-2.0] [max_mb=3] [lang=c]
struct PackageSource {
  std::string package;
  std::vector<std::string> extensions;  // without dots; default: py js mjs cjs ts h hpp hh c cc cpp
  std::vector<std::string> under;       // path prefixes (any); empty = all of the package's files
  std::vector<std::string> exclude;     // substrings; a path containing one is skipped
  std::string licence;                  // fallback when the copyright file is not DEP-5
  double max_mb = 0;                    // cap on this package's bytes (0 = none); files chosen by path hash
  std::string language;                 // overrides the extension's language (e.g. "c" for .h)
};
// Throws std::runtime_error naming the line for unknown options or malformed lines.
std::vector<PackageSource> parse_package_list(const std::string& text);

struct CorpusFile {
  std::string path;      // absolute installed path
  std::string package;
  std::string version;   // installed Debian version
  std::string licence;   // short name (SPDX-like as Debian writes it)
  std::string language;  // "python", "javascript", "typescript", "c", "cpp"
  Split split = Split::Train;
  uint64_t bytes = 0;
  std::string sha1;      // of the content, hex
};

struct CorpusManifest {
  std::vector<CorpusFile> files;  // sorted by path
  // Why files were left out (reason -> count): "too-large", "generated", "duplicate", ...
  std::vector<std::pair<std::string, uint64_t>> skipped;
};

struct CorpusOptions {
  std::string package_list_path = "training/packages.txt";
  std::string dpkg_info_dir = "/var/lib/dpkg/info";
  std::string dpkg_status_path = "/var/lib/dpkg/status";
  std::string doc_dir = "/usr/share/doc";
  uint64_t min_file_bytes = 64;
  uint64_t max_file_bytes = 200 * 1024;
  double validation_fraction = 0.1;
  std::string split_salt = "maskfill-corpus-v1";
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
std::string licence_from_copyright(const std::string& copyright_text);  // "" if not DEP-5
std::string sha1_hex(const std::string& bytes);
std::string read_file(const std::string& path);  // throws std::runtime_error naming the path
// Empty when the text looks hand-written; otherwise why not ("generated", "minified", "binary").
std::string generated_reason(const std::string& text);

}  // namespace maskfill::training
