#include "inference/hub/hub_download.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>
#include <stdexcept>

#include "common/progress.h"
#include "inference/hub/file_fetch.h"
#include "inference/hub/hub_api.h"
#include "inference/hub/hub_cache.h"
#include "inference/hub/local_dir.h"

namespace maskfill::hub {
namespace {
namespace fs = std::filesystem;

constexpr uint64_t kMiB = 1 << 20;

bool is_commit(const std::string& revision) {
  return revision.size() == 40 && revision.find_first_not_of("0123456789abcdef") == std::string::npos;
}

uint64_t size_or_zero(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

// Where each file goes, and whether it is there already.
class Target {
 public:
  Target(const HubSettings& settings, const PullRequest& request, std::string commit)
      : cache_(settings.cache_dir, request.repo_id), local_(request.local_dir), commit_(std::move(commit)),
        in_cache_(request.local_dir.empty()) {}

  std::string model_dir() const { return in_cache_ ? cache_.snapshot(commit_).string() : local_.path(); }
  fs::path folder() const { return in_cache_ ? cache_.blobs() : fs::path(local_.path()); }

  bool present(const HubFile& file) const {
    return in_cache_ ? cache_.has(commit_, file.path) : local_.is_current(file);
  }
  // A blob another commit already brought into the cache only needs a link.
  bool link_existing_blob(const HubFile& file) const {
    if (!in_cache_ || size_or_zero(cache_.blob(file.blob_name())) != file.size) return false;
    cache_.link(commit_, file.path, file.blob_name());
    return true;
  }
  FetchTarget fetch_target(const HubFile& file) const {
    FetchTarget target;
    target.destination = in_cache_ ? cache_.blob(file.blob_name()).string() : local_.file(file.path);
    target.incomplete = in_cache_ ? target.destination + ".incomplete" : local_.incomplete(file.path);
    return target;
  }
  void finish(const HubFile& file) const {
    if (in_cache_) cache_.link(commit_, file.path, file.blob_name());
    else local_.record(file, commit_);
  }
  void remember(const std::string& revision) const {
    if (in_cache_ && revision != commit_) cache_.write_ref(revision, commit_);
  }

 private:
  RepoCache cache_;
  LocalDir local_;
  std::string commit_;
  bool in_cache_;
};

// The snapshot a previous run left for this revision, for when the hub cannot be reached.
std::optional<PullResult> cached_snapshot(const HubSettings& settings, const PullRequest& request) {
  if (!request.local_dir.empty()) return std::nullopt;
  RepoCache cache(settings.cache_dir, request.repo_id);
  std::optional<std::string> commit = is_commit(request.revision) ? request.revision : cache.ref(request.revision);
  std::error_code ec;
  if (!commit || !fs::is_directory(cache.snapshot(*commit), ec)) return std::nullopt;
  PullResult result;
  result.model_dir = cache.snapshot(*commit).string();
  result.commit = *commit;
  result.offline = true;
  return result;
}

void check_space(const fs::path& folder, uint64_t needed) {
  fs::path existing = folder;
  std::error_code ec;
  while (!existing.empty() && !fs::exists(existing, ec)) existing = existing.parent_path();
  fs::space_info space = fs::space(existing.empty() ? fs::path(".") : existing, ec);
  if (!ec && space.available < needed)
    throw DiskError("not enough disk space in " + existing.string() + ": the download needs " +
                    std::to_string(needed / kMiB + 1) + " MiB, " + std::to_string(space.available / kMiB) +
                    " MiB are free");
}

RevisionInfo resolve_revision(const HubApi& api, const PullRequest& request, std::optional<PullResult>& offline) {
  try {
    return api.revision(request.revision);
  } catch (const NetworkError& error) {
    offline = cached_snapshot(api.settings(), request);
    if (!offline) throw;
    spdlog::warn("{}; using the cached snapshot of {} at {}", error.what(), request.repo_id, offline->commit);
    return {};
  }
}

}  // namespace

PullResult pull_snapshot(const HubSettings& settings, const PullRequest& request) {
  check_repo_id(request.repo_id);
  if (request.revision.empty()) throw std::invalid_argument("--revision is empty");
  HubApi api(settings, request.repo_id);
  std::optional<PullResult> offline;
  RevisionInfo info = resolve_revision(api, request, offline);
  if (offline) return *offline;
  std::vector<HubFile> files = api.files(info);
  Target target(settings, request, info.commit);

  PullResult result;
  result.commit = info.commit;
  result.model_dir = target.model_dir();
  std::vector<const HubFile*> missing;
  uint64_t needed = 0;
  for (const HubFile& file : files) {
    if (target.present(file) || target.link_existing_blob(file)) {
      ++result.reused;
      continue;
    }
    missing.push_back(&file);
    needed += file.size - std::min(file.size, size_or_zero(target.fetch_target(file).incomplete));
  }
  spdlog::info("{} at {}: {} files, {} already here, {:.1f} MiB to download", request.repo_id, info.commit,
               files.size(), result.reused, needed / double(kMiB));
  check_space(target.folder(), needed);

  TerminalProgress progress("downloading " + request.repo_id + " (MiB)", (needed + kMiB - 1) / kMiB);
  uint64_t done = 0;
  for (const HubFile* file : missing) {
    FetchTarget fetch = target.fetch_target(*file);
    fetch.repo_id = request.repo_id;
    fetch.revision = request.revision;
    fetch.url = api.file_url(info.commit, file->path);
    fetch_verified(*file, fetch, api.request_options(), [&](uint64_t bytes) {
      done += bytes;
      progress.update(done / kMiB, file->path);
    });
    target.finish(*file);
    ++result.fetched;
    result.fetched_bytes += file->size;
  }
  progress.finish(std::to_string(result.fetched) + " files");
  target.remember(request.revision);
  return result;
}

}  // namespace maskfill::hub
