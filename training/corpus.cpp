#include "training/corpus.h"

#include "common/read_file.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/uuid/detail/sha1.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
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
    if (src.extensions.empty()) src.extensions = {"py", "js", "mjs", "cjs", "ts", "h", "hpp", "hh", "c", "cc", "cpp"};
    sources.push_back(std::move(src));
  }
  return sources;
}

std::string read_file(const std::string& path) { return maskfill::read_file(path); }

std::string sha1_hex(const std::string& bytes) {
  boost::uuids::detail::sha1 sha;
  sha.process_bytes(bytes.data(), bytes.size());
  unsigned int digest[5];
  sha.get_digest(digest);
  char hex[41];
  for (int i = 0; i < 5; ++i) std::snprintf(hex + 8 * i, 9, "%08x", digest[i]);
  return std::string(hex, 40);
}

Split split_for_path(const std::string& path, double validation_fraction, const std::string& salt) {
  std::string digest = sha1_hex(salt + "\n" + path);
  // The first 52 bits as a fraction in [0, 1): uniform enough and exact in a double.
  double u = static_cast<double>(std::stoull(digest.substr(0, 13), nullptr, 16)) / static_cast<double>(1ull << 52);
  return u < validation_fraction ? Split::Validation : Split::Train;
}

// DEP-5 (machine-readable) copyright: the licence of the "Files: *" stanza, else of the header.
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

static bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 99;
    if (n == 99 || (n > 0 && i + n >= s.size())) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n + 1;
  }
  return true;
}

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
  if (!src.language.empty()) return src.language;
  std::string ext = fs::path(path).extension().string();
  if (ext == ".py" || ext == ".pyi") return "python";
  if (ext == ".js" || ext == ".mjs" || ext == ".cjs") return "javascript";
  if (ext == ".ts" || ext == ".mts" || ext == ".cts") return "typescript";
  if (ext == ".c") return "c";
  return "cpp";
}

bool wanted_path(const std::string& path, const PackageSource& src) {
  std::string ext = fs::path(path).extension().string();
  if (ext.empty() || std::find(src.extensions.begin(), src.extensions.end(), ext.substr(1)) == src.extensions.end())
    return false;
  if (path.ends_with(".min.js")) return false;
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

// The package's candidate files (sorted by path) that pass size and generated-code checks.
std::vector<std::pair<CorpusFile, std::string>> package_files(const PackageSource& src, const std::string& list_path,
                                                              const CorpusOptions& opt, Counter& skipped) {
  std::vector<std::string> paths;
  {
    std::ifstream in(list_path);
    for (std::string line; std::getline(in, line);)
      if (wanted_path(line, src)) paths.push_back(line);
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::pair<CorpusFile, std::string>> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) || fs::is_symlink(path, ec)) {
      skipped.add("missing-or-link");
      continue;
    }
    uint64_t size = fs::file_size(path, ec);
    if (ec || size > opt.max_file_bytes) {
      skipped.add("too-large");
      continue;
    }
    if (size < opt.min_file_bytes) {
      skipped.add("too-small");
      continue;
    }
    std::string text = read_file(path);
    if (auto why = generated_reason(text); !why.empty()) {
      skipped.add(why);
      continue;
    }
    CorpusFile f;
    f.path = path;
    f.package = src.package;
    f.language = language_for(path, src);
    f.bytes = text.size();
    f.sha1 = sha1_hex(text);
    f.split = split_for_path(path, opt.validation_fraction, opt.split_salt);
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

}  // namespace

CorpusManifest gather_corpus(const CorpusOptions& opt) {
  auto sources = parse_package_list(read_file(opt.package_list_path));
  auto versions = read_dpkg_versions(opt.dpkg_status_path);
  Counter skipped;
  CorpusManifest manifest;
  std::unordered_set<std::string> seen_content;
  std::set<std::string> seen_paths;
  for (const auto& src : sources) {
    std::string list_path = find_list_file(opt.dpkg_info_dir, src.package);
    if (list_path.empty()) {
      spdlog::warn("corpus: package {} is not installed; skipped", src.package);
      skipped.add("package-not-installed");
      continue;
    }
    std::string licence;
    std::error_code ec;
    fs::path copyright = fs::path(opt.doc_dir) / src.package / "copyright";
    if (fs::exists(copyright, ec)) licence = licence_from_copyright(read_file(copyright.string()));
    if (licence.empty()) licence = src.licence;
    if (licence.empty() || !licence_allowed(licence, opt.allowed_licences)) {
      spdlog::warn("corpus: package {} has licence '{}' (not on the permissive list); skipped", src.package,
                   licence.empty() ? "unknown" : licence);
      skipped.add("licence");
      continue;
    }
    auto files = package_files(src, list_path, opt, skipped);
    uint64_t kept = 0, bytes = 0;
    for (auto& [file, text] : files) {
      if (!seen_paths.insert(file.path).second || !seen_content.insert(file.sha1).second) {
        skipped.add("duplicate");
        continue;
      }
      file.version = versions.count(src.package) ? versions[src.package] : "";
      file.licence = licence;
      ++kept;
      bytes += file.bytes;
      manifest.files.push_back(std::move(file));
    }
    spdlog::info("corpus: {} ({}): {} files, {:.2f} MB", src.package, licence, kept, bytes / 1e6);
  }
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const CorpusFile& a, const CorpusFile& b) { return a.path < b.path; });
  for (const auto& [reason, count] : skipped.counts) manifest.skipped.emplace_back(reason, count);
  return manifest;
}

static json to_json(const CorpusFile& f) {
  return json{{"path", f.path},       {"package", f.package}, {"version", f.version},
              {"licence", f.licence}, {"language", f.language}, {"split", split_name(f.split)},
              {"bytes", f.bytes},     {"sha1", f.sha1}};
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
  f.sha1 = j.at("sha1").get<std::string>();
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
      std::string text = read_file(f.path);
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
