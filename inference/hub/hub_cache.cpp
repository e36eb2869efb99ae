#include "inference/hub/hub_cache.h"

#include <fstream>
#include <regex>

#include "inference/hub/http_fetch.h"

namespace maskfill::hub {
namespace fs = std::filesystem;

std::string cache_folder_name(const std::string& repo_id) {
  return "models--" + std::regex_replace(repo_id, std::regex("/"), "--");
}

std::string blob_link_target(const std::string& path, const std::string& blob) {
  std::string target = "../../";
  for (char c : path)
    if (c == '/') target += "../";
  return target + "blobs/" + blob;
}

RepoCache::RepoCache(const std::string& cache_dir, const std::string& repo_id)
    : root_(fs::path(cache_dir) / cache_folder_name(repo_id)) {}

std::optional<std::string> RepoCache::ref(const std::string& revision) const {
  std::ifstream in(root_ / "refs" / revision);
  std::string commit;
  if (!in || !std::getline(in, commit) || commit.size() != 40) return std::nullopt;
  return commit;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  fs::path path = root_ / "refs" / revision;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::trunc);
  out << commit;  // no newline: huggingface_hub writes the bare hash
  if (ec || !out.flush()) throw DiskError("cannot write " + path.string());
}

bool RepoCache::has(const std::string& commit, const std::string& path) const {
  std::error_code ec;
  return fs::is_regular_file(snapshot(commit) / path, ec);
}

void RepoCache::link(const std::string& commit, const std::string& path, const std::string& blob) const {
  fs::path pointer = snapshot(commit) / path;
  std::error_code ec;
  fs::create_directories(pointer.parent_path(), ec);
  if (!ec) {
    fs::remove(pointer, ec);  // a stale or dangling link from an interrupted run
    fs::create_symlink(blob_link_target(path, blob), pointer, ec);
  }
  if (ec) throw DiskError("cannot create the link " + pointer.string() + ": " + ec.message());
}

}  // namespace maskfill::hub
