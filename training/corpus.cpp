#include "training/corpus.h"

#include "common/read_file.h"
#include "common/utf8.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <openssl/evp.h>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>
#include <stdexcept>
#include <unordered_set>

namespace fs = std::filesystem;
using nlohmann::json;

namespace maskfill::training {

const char* split_name(Split split) { return split == Split::Train ? "train" : "validation"; }

static std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

static std::vector<std::string> split_commas(const std::string& value) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(value);
  while (std::getline(in, part, ','))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

static std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<PackageSource> parse_package_list(const std::string& text) {
  std::vector<PackageSource> sources;
  std::istringstream in(text);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    line = line.substr(0, line.find('#'));
    auto words = split_words(line);
    if (words.empty()) continue;
    PackageSource src;
    src.package = words[0];
    if (src.package.rfind("npm:", 0) == 0) {
      // npm:NAME@VERSION; a scoped NAME starts with '@', so the version follows the last '@'.
      auto at = src.package.rfind('@');
      if (at == std::string::npos || at <= 4 || at + 1 == src.package.size())
        throw std::runtime_error("packages list line " + std::to_string(line_no) +
                                 ": an npm package needs an exact version, npm:NAME@VERSION, got '" +
                                 src.package + "'");
      src.npm_version = src.package.substr(at + 1);
      src.package.resize(at);
    }
    for (size_t i = 1; i < words.size(); ++i) {
      auto eq = words[i].find('=');
      if (eq == std::string::npos || eq == 0)
        throw std::runtime_error("packages list line " + std::to_string(line_no) +
                                 ": expected key=value, got '" + words[i] + "'");
      std::string key = words[i].substr(0, eq), value = words[i].substr(eq + 1);
      if (key == "ext") src.extensions = split_commas(value);
      else if (key == "under") src.under = split_commas(value);
      else if (key == "exclude") src.exclude = split_commas(value);
      else if (key == "licence" || key == "license") src.licence = value;
      else if (key == "lang") src.language = value;
      else if (key == "split") {
        if (value != "validation")
          throw std::runtime_error("packages list line " + std::to_string(line_no) +
                                   ": split can only be 'validation', got '" + value + "'");
        src.validation_only = true;
      }
      else if (key == "max_mb") {
        try {
          src.max_mb = std::stod(value);
        } catch (const std::exception&) {
          throw std::runtime_error("packages list line " + std::to_string(line_no) +
                                   ": max_mb is not a number: '" + value + "'");
        }
      } else
        throw std::runtime_error("packages list line " + std::to_string(line_no) +
                                 ": unknown option '" + key + "'");
    }
    if (src.extensions.empty())
      src.extensions = {"py", "js", "mjs", "cjs", "ts", "h", "hpp", "hh", "c", "cc", "cpp", "go", "rs", "java"};
    sources.push_back(std::move(src));
  }
  return sources;
}

std::string npm_licence(const std::string& package_json) {
  json j = json::parse(package_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "";
  auto type_of = [](const json& v) -> std::string {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("type") && v["type"].is_string()) return v["type"].get<std::string>();
    return "";
  };
  std::string licence;
  if (j.contains("license")) licence = type_of(j["license"]);
  else if (j.contains("licenses") && j["licenses"].is_array() && !j["licenses"].empty())
    licence = type_of(j["licenses"][0]);
  // "(MIT OR Apache-2.0)" -> "MIT OR Apache-2.0": the permissive check reads the first name.
  if (licence.size() >= 2 && licence.front() == '(' && licence.back() == ')') licence = licence.substr(1, licence.size() - 2);
  return licence;
}

std::string read_file(const std::string& path) { return maskfill::read_file(path); }

std::string sha1_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha1(), nullptr) != 1 || length != 20)
    throw std::runtime_error("SHA-1 failed (OpenSSL EVP_Digest)");
  char hex[41];
  for (unsigned int i = 0; i < length; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 40);
}

Split split_for_path(const std::string& path, double validation_fraction, const std::string& salt) {
  std::string digest = sha1_hex(salt + "\n" + path);
  // The first 52 bits as a fraction in [0, 1): uniform enough and exact in a double.
  double u = static_cast<double>(std::stoull(digest.substr(0, 13), nullptr, 16)) / static_cast<double>(1ull << 52);
  return u < validation_fraction ? Split::Validation : Split::Train;
}

Split split_for_package(const std::string& package, double validation_fraction, const std::string& salt) {
  return split_for_path("package:" + package, validation_fraction, salt);
}

std::string language_for_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  if (ext == ".py" || ext == ".pyi") return "python";
  if (ext == ".js" || ext == ".mjs" || ext == ".cjs") return "javascript";
  if (ext == ".ts" || ext == ".mts" || ext == ".cts") return "typescript";
  if (ext == ".go") return "go";
  if (ext == ".rs") return "rust";
  if (ext == ".java") return "java";
  if (ext == ".c") return "c";
  return "cpp";
}

namespace {
// Shingle hashes of a text: FNV-1a over each token, then over each window of 5 tokens.
std::vector<uint64_t> shingle_hashes(const std::string& text) {
  constexpr int kShingle = 5;
  std::vector<uint64_t> tokens;
  tokens.reserve(text.size() / 3);
  auto word = [](unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; };
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      ++i;
      continue;
    }
    uint64_t h = 1469598103934665603ull;
    size_t end = i + 1;
    if (word(c))
      while (end < text.size() && word(static_cast<unsigned char>(text[end]))) ++end;
    for (size_t k = i; k < end; ++k) h = (h ^ static_cast<unsigned char>(text[k])) * 1099511628211ull;
    tokens.push_back(h);
    i = end;
  }
  std::vector<uint64_t> shingles;
  if (tokens.size() < kShingle) return shingles;
  shingles.reserve(tokens.size() - kShingle + 1);
  for (size_t i = 0; i + kShingle <= tokens.size(); ++i) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < kShingle; ++k) h = (h ^ tokens[i + k]) * 0xff51afd7ed558ccdull, h ^= h >> 29;
    shingles.push_back(h);
  }
  std::sort(shingles.begin(), shingles.end());
  shingles.erase(std::unique(shingles.begin(), shingles.end()), shingles.end());
  return shingles;
}

// The 128 hash functions: h_k(x) = mix(x ^ salt_k) * odd_k, all in 32 bits (vectorizes).
struct MinHashFunctions {
  uint32_t salt[kMinHashSize], odd[kMinHashSize];
  MinHashFunctions() {
    uint64_t state = 0x2545F4914F6CDD1Dull;
    auto next = [&] {  // splitmix64
      uint64_t z = (state += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      return z ^ (z >> 31);
    };
    for (int k = 0; k < kMinHashSize; ++k) {
      salt[k] = uint32_t(next());
      odd[k] = uint32_t(next()) | 1u;
    }
  }
};
}  // namespace

std::vector<uint32_t> minhash_signature(const std::string& text) {
  static const MinHashFunctions functions;
  auto shingles = shingle_hashes(text);
  if (shingles.empty()) return {};
  std::vector<uint32_t> signature(kMinHashSize, UINT32_MAX);
  uint32_t* sig = signature.data();
  for (uint64_t shingle : shingles) {
    uint32_t x = uint32_t(shingle ^ (shingle >> 32));
    for (int k = 0; k < kMinHashSize; ++k) {
      uint32_t h = x ^ functions.salt[k];
      h ^= h >> 16;
      h *= functions.odd[k];
      h ^= h >> 15;
      sig[k] = std::min(sig[k], h);
    }
  }
  return signature;
}

double signature_similarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  if (a.size() != b.size() || a.empty()) return 0;
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return double(same) / double(a.size());
}

bool NearDuplicateIndex::insert_if_new(const std::vector<uint32_t>& signature) {
  constexpr int kBands = 16, kRows = kMinHashSize / kBands;
  if (signature.size() != size_t(kMinHashSize)) return true;  // too short to compare: keep
  if (bands_.empty()) bands_.resize(kBands);
  uint64_t keys[kBands];
  for (int b = 0; b < kBands; ++b) {
    uint64_t h = 1469598103934665603ull;
    for (int r = 0; r < kRows; ++r) h = (h ^ signature[b * kRows + r]) * 1099511628211ull;
    keys[b] = h;
    auto [first, last] = bands_[b].equal_range(h);
    for (auto it = first; it != last; ++it)
      if (signature_similarity(kept_[it->second], signature) >= jaccard_) return false;
  }
  auto index = uint32_t(kept_.size());
  kept_.push_back(signature);
  for (int b = 0; b < kBands; ++b) bands_[b].emplace(keys[b], index);
  return true;
}

// DEP-5 (machine-readable) copyright: the licence of the "Files: *" stanza, else of the header.
namespace {
std::vector<std::string_view> trimmed_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::string joined(const std::vector<std::string_view>& lines, size_t from, size_t count) {
  std::string out;
  for (size_t i = from; i < from + count; ++i) out.append(lines[i]).push_back('\n');
  return out;
}
}  // namespace

void EvalTaskIndex::add(const std::string& prompt, const std::string& solution) {
  auto before = trimmed_lines(prompt), body = trimmed_lines(solution);
  std::vector<std::string_view> sequence(before.end() - std::ptrdiff_t(std::min<size_t>(2, before.size())), before.end());
  sequence.insert(sequence.end(), body.begin(), body.end());
  std::string key = joined(sequence, 0, sequence.size());
  if (key.size() < 40) return;
  by_lines_[sequence.size()].insert(std::move(key));
  ++tasks_;
}

bool EvalTaskIndex::found_in(const std::string& text) const {
  if (by_lines_.empty()) return false;
  auto lines = trimmed_lines(text);
  for (const auto& [count, keys] : by_lines_)
    for (size_t i = 0; i + count <= lines.size(); ++i)
      if (keys.count(joined(lines, i, count))) return true;
  return false;
}

EvalTaskIndex EvalTaskIndex::from_files(const std::vector<std::string>& paths) {
  EvalTaskIndex index;
  for (const auto& path : paths) {
    std::istringstream in(read_file(path));
    int line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      if (line.empty()) continue;
      json task = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!task.is_object() || !task.value("prompt", json()).is_string() ||
          !task.value("canonical_solution", json()).is_string())
        throw std::runtime_error(path + " line " + std::to_string(line_no) +
                                 ": expected an eval task with \"prompt\" and \"canonical_solution\"");
      index.add(task["prompt"].get<std::string>(), task["canonical_solution"].get<std::string>());
    }
  }
  return index;
}

std::string licence_from_copyright(const std::string& text) {
  if (text.rfind("Format:", 0) != 0) return "";
  std::istringstream in(text);
  std::string header_licence, star_licence, line;
  bool in_star = false, in_header = true;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      in_header = false;
      in_star = false;
      continue;
    }
    if (line.rfind("Files:", 0) == 0) {
      auto files = split_words(line.substr(6));
      in_star = std::find(files.begin(), files.end(), "*") != files.end();
    } else if (line.rfind("License:", 0) == 0) {
      auto words = split_words(line.substr(8));
      std::string name;
      for (const auto& w : words) name += (name.empty() ? "" : " ") + w;
      if (in_star && star_licence.empty()) star_licence = name;
      if (in_header && header_licence.empty()) header_licence = name;
    }
  }
  return !star_licence.empty() ? star_licence : header_licence;
}

static bool valid_utf8(const std::string& s) { return utf8::is_valid(s); }

std::string generated_reason(const std::string& text) {
  if (text.find('\0') != std::string::npos) return "binary";
  if (!valid_utf8(text)) return "not-utf8";
  std::string head = lower(text.substr(0, 1024));
  for (const char* marker : {"do not edit", "code generated by", "file was generated", "file is generated",
                             "generated file", "auto-generated", "autogenerated", "automatically generated",
                             "@generated"})
    if (head.find(marker) != std::string::npos) return "generated";
  size_t lines = 0, longest = 0, start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    longest = std::max(longest, end - start);
    ++lines;
    start = end + 1;
  }
  if (longest > 1000 || text.size() / lines > 150) return "minified";
  return "";
}

namespace {

struct Installed {
  std::string version;
  std::string list_path;
};

std::map<std::string, std::string> read_dpkg_versions(const std::string& status_path) {
  std::map<std::string, std::string> versions;
  std::ifstream in(status_path);
  std::string line, package;
  while (std::getline(in, line)) {
    if (line.rfind("Package: ", 0) == 0) package = line.substr(9);
    else if (line.rfind("Version: ", 0) == 0 && !package.empty()) versions[package] = line.substr(9);
    else if (line.empty()) package.clear();
  }
  return versions;
}

std::string find_list_file(const std::string& info_dir, const std::string& package) {
  for (const std::string& name : {package + ".list", package + ":amd64.list", package + ":all.list"})
    if (fs::exists(fs::path(info_dir) / name)) return (fs::path(info_dir) / name).string();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(info_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(package + ":", 0) == 0 && name.size() > 5 && name.ends_with(".list")) return entry.path().string();
  }
  return "";
}

std::string language_for(const std::string& path, const PackageSource& src) {
  return src.language.empty() ? language_for_extension(path) : src.language;
}

bool wanted_path(const std::string& path, const PackageSource& src) {
  std::string ext = fs::path(path).extension().string();
  if (ext.empty() || std::find(src.extensions.begin(), src.extensions.end(), ext.substr(1)) == src.extensions.end())
    return false;
  if (path.ends_with(".min.js") || path.ends_with(".d.ts")) return false;
  if (!src.under.empty() && std::none_of(src.under.begin(), src.under.end(),
                                         [&](const std::string& p) { return path.rfind(p, 0) == 0; }))
    return false;
  return std::none_of(src.exclude.begin(), src.exclude.end(),
                      [&](const std::string& s) { return path.find(s) != std::string::npos; });
}

bool licence_allowed(const std::string& licence, const std::vector<std::string>& allowed) {
  std::string l = lower(licence);
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return l.rfind(a, 0) == 0; });
}

struct Counter {
  std::map<std::string, uint64_t> counts;
  void add(const std::string& reason) { ++counts[reason]; }
};

// Where a package's files are: installed (dpkg's .list) or unpacked in the cache.
struct PackageTree {
  std::string version;
  std::string copyright;  // path of the copyright file ("" if none)
  std::string root;       // "" when installed; else the unpacked tree that stands for "/"
  std::vector<std::string> paths;  // installed paths, sorted
  std::string licence;    // from the package's own metadata (npm's package.json); "" for Debian's
};

// The package's candidate files (sorted by path) that pass size and generated-code checks.
std::vector<std::pair<CorpusFile, std::string>> package_files(const PackageSource& src, const PackageTree& tree,
                                                              const CorpusOptions& opt, const EvalTaskIndex& tasks,
                                                              Counter& skipped) {
  std::vector<std::string> paths;
  for (const auto& path : tree.paths)
    if (wanted_path(path, src)) paths.push_back(path);
  std::vector<std::pair<CorpusFile, std::string>> files;
  for (const auto& path : paths) {
    std::error_code ec;
    const std::string real = tree.root.empty() ? path : tree.root + path;
    if (!fs::is_regular_file(real, ec) || fs::is_symlink(real, ec)) {
      skipped.add("missing-or-link");
      continue;
    }
    uint64_t size = fs::file_size(real, ec);
    if (ec || size > opt.max_file_bytes) {
      skipped.add("too-large");
      continue;
    }
    if (size < opt.min_file_bytes) {
      skipped.add("too-small");
      continue;
    }
    std::string text = read_file(real);
    if (auto why = generated_reason(text); !why.empty()) {
      skipped.add(why);
      continue;
    }
    CorpusFile f;
    f.path = path;
    if (!tree.root.empty()) f.file = real;
    f.package = src.package;
    f.language = language_for(path, src);
    f.bytes = text.size();
    f.sha1 = sha1_hex(text);
    f.split = src.validation_only ? Split::Validation
              : opt.split_by == SplitBy::Package
                  ? split_for_package(src.package, opt.validation_fraction, opt.split_salt)
                  : split_for_path(path, opt.validation_fraction, opt.split_salt);
    if (f.split == Split::Train && tasks.found_in(text)) {
      skipped.add("eval-task");
      continue;
    }
    files.emplace_back(std::move(f), std::move(text));
  }
  if (src.max_mb > 0) {
    // A deterministic, path-hash-ordered subset under the cap, then back to path order.
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
      return sha1_hex(a.first.path) < sha1_hex(b.first.path);
    });
    uint64_t cap = static_cast<uint64_t>(src.max_mb * 1e6), total = 0;
    std::vector<std::pair<CorpusFile, std::string>> kept;
    for (auto& f : files) {
      if (total + f.first.bytes > cap) {
        skipped.add("package-cap");
        continue;
      }
      total += f.first.bytes;
      kept.push_back(std::move(f));
    }
    files = std::move(kept);
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first.path < b.first.path; });
  }
  return files;
}

bool safe_package_name(const std::string& name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '+' ||
           c == '-' || c == '.';
  });
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The downloaded .deb of a package in CACHE/debs ("" if none): files are named PKG_VERSION_ARCH.deb.
std::string cached_deb(const fs::path& debs, const std::string& package) {
  std::error_code ec;
  std::string found;
  for (const auto& entry : fs::directory_iterator(debs, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(package + "_", 0) == 0 && name.ends_with(".deb") && entry.path().string() > found)
      found = entry.path().string();
  }
  return found;
}

// apt-get download in batches; a batch that fails (one unknown package fails all) is bisected.
void download_debs(const fs::path& debs, const std::vector<std::string>& packages) {
  if (packages.empty()) return;
  std::string command = "cd " + shell_quote(debs.string()) + " && apt-get download -q";
  for (const auto& p : packages) command += " " + p;
  // The log's path is absolute: the command runs inside `debs`, where a relative one (from a
  // relative --cache) names no folder and fails every download before apt-get starts.
  command += " >/dev/null 2>>" + shell_quote(fs::absolute(debs / "download.log").string());
  if (std::system(command.c_str()) == 0) return;
  if (packages.size() == 1) {
    spdlog::warn("corpus: apt-get download {} failed (see {})", packages[0], (debs / "download.log").string());
    return;
  }
  auto half = packages.begin() + std::ptrdiff_t(packages.size() / 2);
  download_debs(debs, {packages.begin(), half});
  download_debs(debs, {half, packages.end()});
}

std::string command_output(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    if (::pclose(pipe) != 0) return "";
  }
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

// The regular files under `root`, as absolute paths of the tree that `root` stands for, sorted.
std::vector<std::string> tree_paths(const fs::path& root) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    paths.push_back("/" + fs::relative(it->path(), root, ec).string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// A tree unpacked in the cache: ROOT stands for "/", VERSION_FILE holds the package's version.
PackageTree unpacked_tree(const fs::path& root, const fs::path& version_file) {
  PackageTree tree;
  tree.root = root.string();
  std::ifstream in(version_file);
  std::getline(in, tree.version);
  tree.paths = tree_paths(root);
  return tree;
}

// npm names are lower-case letters, digits and - . _, with an optional @scope/; versions are
// semver. Checked because both reach a shell command.
bool safe_npm_spec(const PackageSource& src) {
  auto word = [](std::string_view w, std::string_view extra) {
    return !w.empty() && std::isalnum(static_cast<unsigned char>(w[0])) &&
           std::all_of(w.begin(), w.end(), [&](char c) {
             return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                    extra.find(c) != std::string_view::npos;
           });
  };
  std::string_view name = std::string_view(src.package).substr(4);
  if (name.starts_with('@')) {
    auto slash = name.find('/');
    if (slash == std::string_view::npos || !word(name.substr(1, slash - 1), "._-")) return false;
    name = name.substr(slash + 1);
  }
  return word(name, "._-") && word(src.npm_version, ".+-ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

// "npm:@scope/name" 1.2.3 -> "@scope+name@1.2.3": one folder name for the tarball and the tree.
std::string npm_folder(const PackageSource& src) {
  std::string name = src.package.substr(4);
  std::replace(name.begin(), name.end(), '/', '+');
  return name + "@" + src.npm_version;
}

// npm pack NAME@VERSION into CACHE/npm/FOLDER (the registry's tarball; nothing is installed and
// no package script runs).
void download_npm(const fs::path& cache, const PackageSource& src) {
  fs::path folder = cache / "npm" / npm_folder(src);
  fs::create_directories(folder);
  std::string command = "cd " + shell_quote(folder.string()) + " && npm pack --silent " +
                        shell_quote(src.package.substr(4) + "@" + src.npm_version) + " >/dev/null 2>>" +
                        shell_quote(fs::absolute(cache / "npm" / "download.log").string());
  if (std::system(command.c_str()) != 0)
    spdlog::warn("corpus: npm pack {}@{} failed (see {})", src.package.substr(4), src.npm_version,
                 (cache / "npm" / "download.log").string());
}

std::string cached_npm_tarball(const fs::path& cache, const PackageSource& src) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cache / "npm" / npm_folder(src), ec))
    if (entry.path().extension() == ".tgz") return entry.path().string();
  return "";
}

// CACHE/root/npm/FOLDER holds the tarball's files under /node_modules/NAME/ (its top folder,
// "package/", stripped), so paths read like an installed module's; unpacked when needed.
std::optional<PackageTree> npm_tree(const fs::path& cache, const PackageSource& src) {
  const std::string name = src.package.substr(4);
  fs::path root = cache / "root" / "npm" / npm_folder(src);
  fs::path version_file = cache / "root" / "npm" / (npm_folder(src) + ".version");
  fs::path module = fs::path("node_modules") / name;
  std::error_code ec;
  if (!fs::exists(version_file, ec)) {
    std::string tarball = cached_npm_tarball(cache, src);
    if (tarball.empty()) return std::nullopt;
    fs::path tmp = root.string() + ".tmp";
    fs::remove_all(tmp, ec);
    fs::remove_all(root, ec);
    fs::create_directories(tmp / module);
    std::string command = "tar -xzf " + shell_quote(tarball) + " --no-same-owner --strip-components=1 -C " +
                          shell_quote((tmp / module).string());
    if (std::system(command.c_str()) != 0 || !fs::is_regular_file(tmp / module / "package.json", ec)) {
      spdlog::warn("corpus: cannot unpack {} (or it has no package.json)", tarball);
      fs::remove_all(tmp, ec);
      return std::nullopt;
    }
    json meta = json::parse(read_file((tmp / module / "package.json").string()), nullptr, false);
    std::string version = meta.is_object() && meta.value("version", json()).is_string()
                              ? meta["version"].get<std::string>() : src.npm_version;
    fs::rename(tmp, root);
    std::ofstream(version_file) << version << "\n";
  }
  PackageTree tree = unpacked_tree(root, version_file);
  tree.licence = npm_licence(read_file((root / module / "package.json").string()));
  return tree;
}

// CACHE/root/PKG (unpacked) and CACHE/root/PKG.version; unpacks the cached .deb when needed.
std::optional<PackageTree> cached_tree(const fs::path& cache, const std::string& package) {
  fs::path root = cache / "root" / package, version_file = cache / "root" / (package + ".version");
  std::error_code ec;
  if (!fs::exists(version_file, ec)) {
    std::string deb = cached_deb(cache / "debs", package);
    if (deb.empty()) return std::nullopt;
    fs::path tmp = cache / "root" / (package + ".tmp");
    fs::remove_all(tmp, ec);
    fs::remove_all(root, ec);
    fs::create_directories(tmp);
    std::string version = command_output("dpkg-deb -f " + shell_quote(deb) + " Version");
    if (version.empty() || std::system(("dpkg-deb -x " + shell_quote(deb) + " " + shell_quote(tmp.string())).c_str()) != 0) {
      spdlog::warn("corpus: cannot unpack {}", deb);
      fs::remove_all(tmp, ec);
      return std::nullopt;
    }
    fs::rename(tmp, root);
    std::ofstream(version_file) << version << "\n";
  }
  PackageTree tree = unpacked_tree(root, version_file);
  fs::path copyright = root / "usr/share/doc" / package / "copyright";
  if (fs::is_regular_file(copyright, ec)) tree.copyright = copyright.string();
  return tree;
}

}  // namespace

CorpusManifest gather_corpus(const CorpusOptions& opt) {
  auto started = std::chrono::steady_clock::now();
  auto sources = parse_package_list(read_file(opt.package_list_path));
  auto versions = read_dpkg_versions(opt.dpkg_status_path);
  Counter skipped;
  CorpusManifest manifest;
  std::unordered_set<std::string> seen_content;
  std::set<std::string> seen_paths;
  NearDuplicateIndex near(opt.near_duplicate_jaccard > 0 ? opt.near_duplicate_jaccard : 2.0);
  const fs::path cache = opt.cache_dir;
  const EvalTaskIndex tasks = EvalTaskIndex::from_files(opt.eval_task_files);
  if (!opt.eval_task_files.empty()) spdlog::info("corpus: {} eval tasks to keep out of train", tasks.size());

  // Packages that are neither installed nor cached are downloaded first, all in a few batches.
  if (!opt.cache_dir.empty() && opt.download) {
    fs::create_directories(cache / "debs");
    fs::create_directories(cache / "root");
    std::vector<std::string> missing;
    std::error_code ec;
    for (const auto& src : sources) {
      if (!src.npm_version.empty()) {
        if (!safe_npm_spec(src))
          throw std::runtime_error("unexpected npm package '" + src.package + "@" + src.npm_version + "'");
        if (!fs::exists(cache / "root" / "npm" / (npm_folder(src) + ".version"), ec) &&
            cached_npm_tarball(cache, src).empty())
          download_npm(cache, src);
        continue;
      }
      if (!safe_package_name(src.package)) throw std::runtime_error("unexpected package name '" + src.package + "'");
      if (find_list_file(opt.dpkg_info_dir, src.package).empty() &&
          !fs::exists(cache / "root" / (src.package + ".version"), ec) && cached_deb(cache / "debs", src.package).empty())
        missing.push_back(src.package);
    }
    spdlog::info("corpus: downloading {} packages into {}", missing.size(), (cache / "debs").string());
    for (size_t i = 0; i < missing.size(); i += 200)
      download_debs(cache / "debs", {missing.begin() + std::ptrdiff_t(i),
                                     missing.begin() + std::ptrdiff_t(std::min(missing.size(), i + 200))});
  }

  for (const auto& src : sources) {
    PackageTree tree;
    std::string list_path = src.npm_version.empty() ? find_list_file(opt.dpkg_info_dir, src.package) : "";
    if (!src.npm_version.empty()) {
      auto npm = opt.cache_dir.empty() ? std::nullopt : npm_tree(cache, src);
      if (!npm) {
        spdlog::warn("corpus: npm package {}@{} is not in the cache; skipped", src.package.substr(4), src.npm_version);
        skipped.add("package-not-installed");
        continue;
      }
      tree = std::move(*npm);
    } else if (!list_path.empty()) {
      std::ifstream in(list_path);
      for (std::string line; std::getline(in, line);) tree.paths.push_back(line);
      std::sort(tree.paths.begin(), tree.paths.end());
      tree.version = versions.count(src.package) ? versions[src.package] : "";
      fs::path copyright = fs::path(opt.doc_dir) / src.package / "copyright";
      std::error_code ec;
      if (fs::exists(copyright, ec)) tree.copyright = copyright.string();
    } else if (auto cached = opt.cache_dir.empty() ? std::nullopt : cached_tree(cache, src.package)) {
      tree = std::move(*cached);
    } else {
      spdlog::warn("corpus: package {} is not installed; skipped", src.package);
      skipped.add("package-not-installed");
      continue;
    }
    std::string licence;
    if (!tree.copyright.empty()) licence = licence_from_copyright(read_file(tree.copyright));
    if (licence.empty()) licence = tree.licence;
    if (licence.empty()) licence = src.licence;
    if (licence.empty() || !licence_allowed(licence, opt.allowed_licences)) {
      spdlog::debug("corpus: package {} has licence '{}' (not on the permissive list); skipped", src.package,
                    licence.empty() ? "unknown" : licence);
      skipped.add("licence");
      continue;
    }
    auto files = package_files(src, tree, opt, tasks, skipped);
    uint64_t kept = 0, bytes = 0;
    for (auto& [file, text] : files) {
      manifest.candidates.files++;
      manifest.candidates.bytes += file.bytes;
      if (!seen_paths.insert(file.path).second || !seen_content.insert(file.sha1).second) {
        skipped.add("duplicate");
        continue;
      }
      manifest.after_exact.files++;
      manifest.after_exact.bytes += file.bytes;
      if (opt.near_duplicate_jaccard > 0 && !near.insert_if_new(minhash_signature(text))) {
        skipped.add("near-duplicate");
        continue;
      }
      file.version = tree.version;
      file.licence = licence;
      ++kept;
      bytes += file.bytes;
      manifest.files.push_back(std::move(file));
    }
    manifest.after_near.files += kept;
    manifest.after_near.bytes += bytes;
    manifest.packages_used += kept > 0;
    if (kept > 0) spdlog::info("corpus: {} ({}): {} files, {:.2f} MB", src.package, licence, kept, bytes / 1e6);
  }
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const CorpusFile& a, const CorpusFile& b) { return a.path < b.path; });
  for (const auto& [reason, count] : skipped.counts) manifest.skipped.emplace_back(reason, count);
  manifest.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return manifest;
}

static json to_json(const CorpusFile& f) {
  json j{{"path", f.path},       {"package", f.package}, {"version", f.version},
         {"licence", f.licence}, {"language", f.language}, {"split", split_name(f.split)},
         {"bytes", f.bytes},     {"sha1", f.sha1}};
  if (!f.file.empty()) j["file"] = f.file;
  return j;
}

static CorpusFile from_json(const json& j) {
  CorpusFile f;
  f.path = j.at("path").get<std::string>();
  f.package = j.at("package").get<std::string>();
  f.version = j.value("version", "");
  f.licence = j.at("licence").get<std::string>();
  f.language = j.at("language").get<std::string>();
  std::string split = j.at("split").get<std::string>();
  if (split != "train" && split != "validation") throw std::runtime_error("unknown split '" + split + "'");
  f.split = split == "train" ? Split::Train : Split::Validation;
  f.bytes = j.at("bytes").get<uint64_t>();
  f.sha1 = j.value("sha1", "");  // a packed corpus (training/pack-corpus.py) leaves it out
  f.file = j.value("file", "");
  return f;
}

void write_corpus(const CorpusManifest& manifest, const std::string& out_dir, uint64_t shard_bytes) {
  fs::create_directories(out_dir);
  for (const auto& entry : fs::directory_iterator(out_dir)) {  // stale shards from a bigger run
    std::string name = entry.path().filename().string();
    if ((name.rfind("train-", 0) == 0 || name.rfind("validation-", 0) == 0) && name.ends_with(".jsonl"))
      fs::remove(entry.path());
  }
  std::ofstream manifest_out(fs::path(out_dir) / "manifest.jsonl", std::ios::binary);
  for (Split split : {Split::Train, Split::Validation}) {
    int shard = -1;
    uint64_t in_shard = shard_bytes;
    std::ofstream out;
    for (const auto& f : manifest.files) {
      if (f.split != split) continue;
      std::string text = read_file(f.file.empty() ? f.path : f.file);
      if (sha1_hex(text) != f.sha1) throw std::runtime_error(f.path + " changed since the corpus was gathered");
      if (in_shard >= shard_bytes) {
        char name[64];
        std::snprintf(name, sizeof name, "%s-%05d.jsonl", split_name(split), ++shard);
        out = std::ofstream(fs::path(out_dir) / name, std::ios::binary);
        in_shard = 0;
      }
      out << json{{"path", f.path}, {"language", f.language}, {"text", text}}.dump() << '\n';
      in_shard += text.size();
    }
  }
  for (const auto& f : manifest.files) manifest_out << to_json(f).dump() << '\n';
  if (!manifest_out) throw std::runtime_error("cannot write manifest in " + out_dir);
  std::ofstream(fs::path(out_dir) / "report.md") << corpus_report(manifest);
}

std::string corpus_report(const CorpusManifest& m) {
  struct Sum {
    uint64_t files = 0, bytes = 0;
    std::set<std::string> packages;
  };
  std::map<std::string, Sum> language, licence;
  Sum split[2];
  for (const auto& f : m.files) {
    for (Sum* s : {&language[f.language], &licence[f.licence], &split[f.split == Split::Validation]}) {
      s->files++;
      s->bytes += f.bytes;
      s->packages.insert(f.package);
    }
  }
  const double total = std::max<double>(1, double(m.after_near.bytes));
  std::string out;
  auto line = [&](const std::string& text) { out += text + "\n"; };
  auto mb = [](uint64_t bytes) { return fmt::format("{:.1f}", double(bytes) / 1e6); };
  line("| step | files | MB |");
  line("|---|---|---|");
  line(fmt::format("| passed the file filters (extension, size, not generated/minified) | {} | {} |", m.candidates.files,
                   mb(m.candidates.bytes)));
  line(fmt::format("| after exact deduplication (SHA-1 of content) | {} | {} |", m.after_exact.files,
                   mb(m.after_exact.bytes)));
  line(fmt::format("| after near deduplication (MinHash, Jaccard >= 0.8) | {} | {} |", m.after_near.files,
                   mb(m.after_near.bytes)));
  line(fmt::format("| train | {} | {} |", split[0].files, mb(split[0].bytes)));
  line(fmt::format("| validation ({} packages, none also in train) | {} | {} |", split[1].packages.size(),
                   split[1].files, mb(split[1].bytes)));
  line("");
  line(fmt::format("{} packages gave files; wall time {:.0f} s.", m.packages_used, m.seconds));
  line("");
  line("| language | packages | files | MB | share |");
  line("|---|---|---|---|---|");
  std::vector<std::pair<std::string, Sum>> langs(language.begin(), language.end());
  std::sort(langs.begin(), langs.end(), [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
  for (const auto& [name, s] : langs)
    line(fmt::format("| {} | {} | {} | {} | {:.1f}% |", name, s.packages.size(), s.files, mb(s.bytes),
                     100.0 * double(s.bytes) / total));
  line("");
  line("| licence (debian/copyright, Files: *) | packages | files | MB |");
  line("|---|---|---|---|");
  std::vector<std::pair<std::string, Sum>> lics(licence.begin(), licence.end());
  std::sort(lics.begin(), lics.end(), [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
  for (const auto& [name, s] : lics)
    line(fmt::format("| {} | {} | {} | {} |", name, s.packages.size(), s.files, mb(s.bytes)));
  line("");
  line("| left out | count |");
  line("|---|---|");
  for (const auto& [reason, count] : m.skipped) line(fmt::format("| {} | {} |", reason, count));
  return out;
}

CorpusManifest read_manifest(const std::string& manifest_path) {
  std::ifstream in(manifest_path);
  if (!in) throw std::runtime_error("cannot read " + manifest_path);
  CorpusManifest manifest;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    try {
      manifest.files.push_back(from_json(json::parse(line)));
    } catch (const std::exception& e) {
      throw std::runtime_error(manifest_path + ":" + std::to_string(line_no) + ": " + e.what());
    }
  }
  return manifest;
}

void for_each_document(const std::string& corpus_dir, Split split,
                       const std::function<void(const CorpusDocument&)>& visit) {
  std::vector<fs::path> shards;
  std::string prefix = std::string(split_name(split)) + "-";
  for (const auto& entry : fs::directory_iterator(corpus_dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.ends_with(".jsonl")) shards.push_back(entry.path());
  }
  std::sort(shards.begin(), shards.end());
  for (const auto& shard : shards) {
    std::ifstream in(shard, std::ios::binary);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      json j = json::parse(line);
      visit(CorpusDocument{j.at("path").get<std::string>(), j.at("language").get<std::string>(),
                           j.at("text").get<std::string>()});
    }
  }
}

}  // namespace maskfill::training
