// huggingface_hub's cache layout for one model, shared with `huggingface-cli download`:
//   {cache}/models--ORG--NAME/blobs/{sha256 or git id}      the bytes, once per content
//   {cache}/models--ORG--NAME/snapshots/{commit}/{path}     relative symlinks into blobs/
//   {cache}/models--ORG--NAME/refs/{revision}               the commit a branch or tag named
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace maskfill::hub {

// "models--ORG--NAME"
std::string cache_folder_name(const std::string& repo_id);
// The symlink target from snapshots/{commit}/{path} to blobs/{blob}: "../../blobs/x", one more
// "../" per folder in `path`.
std::string blob_link_target(const std::string& path, const std::string& blob);

class RepoCache {
 public:
  RepoCache(const std::string& cache_dir, const std::string& repo_id);
  std::filesystem::path blobs() const { return root_ / "blobs"; }
  std::filesystem::path blob(const std::string& name) const { return blobs() / name; }
  std::filesystem::path snapshot(const std::string& commit) const { return root_ / "snapshots" / commit; }
  // The commit refs/{revision} holds, when a previous download wrote it.
  std::optional<std::string> ref(const std::string& revision) const;
  void write_ref(const std::string& revision, const std::string& commit) const;
  // Whether snapshots/{commit}/{path} exists and leads to a file (a dangling link does not count).
  bool has(const std::string& commit, const std::string& path) const;
  // Points snapshots/{commit}/{path} at blobs/{blob}. Throws DiskError.
  void link(const std::string& commit, const std::string& path, const std::string& blob) const;

 private:
  std::filesystem::path root_;
};

}  // namespace maskfill::hub
