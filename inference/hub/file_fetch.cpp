#include "inference/hub/file_fetch.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "inference/hub/file_digest.h"

namespace maskfill::hub {
namespace {
namespace fs = std::filesystem;

// Attempts in a row that add no bytes before a download gives up. An attempt that made progress
// resets the count: a connection cut every few MiB still finishes a 16 GB snapshot, while a
// server that sends nothing fails in five tries.
constexpr int kAttempts = 5;

uint64_t size_or_zero(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

// One GET from where the partial file ends. Returns false when the server sent nothing usable
// for that offset (416), so the caller starts over.
bool transfer(const HubFile& file, const FetchTarget& target, const RequestOptions& options, uint64_t offset,
              const std::function<void(uint64_t)>& on_bytes) {
  HttpResponse response = http_download(target.url, options, target.incomplete, offset, on_bytes);
  if (response.status == 416) return false;
  if (response.status != 200 && response.status != 206)
    throw_http_error(response, target.repo_id, target.revision, "'" + file.path + "'", !options.token.empty());
  return true;
}

// Downloads until the partial file has the listed size; retries resume where the bytes stop.
void download(const HubFile& file, const FetchTarget& target, const RequestOptions& options,
              const std::function<void(uint64_t)>& on_bytes) {
  for (int attempt = 1;; ++attempt) {  // attempt: this one's number since the last progress
    uint64_t offset = size_or_zero(target.incomplete);
    if (offset > file.size) {  // not this file's bytes
      std::error_code ec;
      fs::remove(target.incomplete, ec);
      offset = 0;
    }
    if (offset == file.size && file.size > 0) return;
    if (offset > 0) spdlog::info("{}: resuming at byte {} of {}", file.path, offset, file.size);
    try {
      if (!transfer(file, target, options, offset, on_bytes)) {
        if (offset == 0) throw NetworkError("the server refused to send '" + file.path + "' (HTTP 416)");
        std::error_code ec;  // 416: nothing at that offset (the file changed?), so start over
        fs::remove(target.incomplete, ec);
        continue;
      }
      if (size_or_zero(target.incomplete) >= file.size) return;
      throw NetworkError("the server ended '" + file.path + "' early");
    } catch (const NetworkError& error) {
      uint64_t have = size_or_zero(target.incomplete);
      if (have > offset && have <= file.size) {
        spdlog::warn("{}: {}; resuming", file.path, error.what());
        attempt = 0;
        continue;
      }
      if (attempt >= kAttempts)
        throw NetworkError(std::string(error.what()) + " while downloading '" + file.path + "' (" +
                           std::to_string(have) + " of " + std::to_string(file.size) +
                           " bytes kept; run the command again to resume)");
      spdlog::warn("{}: {}; retrying ({} of {} without progress)", file.path, error.what(), attempt + 1, kAttempts);
      std::this_thread::sleep_for(std::chrono::seconds(attempt));  // back off; the hub may be busy
    }
  }
}

void refuse(const HubFile& file, const FetchTarget& target, const std::string& why) {
  std::error_code ec;
  fs::remove(target.incomplete, ec);
  throw std::runtime_error("refused '" + file.path + "': " + why + "; the download was deleted, run the command "
                           "again to fetch it anew");
}

}  // namespace

bool matches_hub(const HubFile& file, const std::string& path) {
  std::error_code ec;
  if (fs::file_size(path, ec) != file.size || ec) return false;
  return file.lfs_sha256.empty() ? file_git_blob_sha1(path) == file.git_oid : file_sha256(path) == file.lfs_sha256;
}

void fetch_verified(const HubFile& file, const FetchTarget& target, const RequestOptions& options,
                    const std::function<void(uint64_t)>& on_bytes) {
  std::error_code ec;
  fs::create_directories(fs::path(target.incomplete).parent_path(), ec);
  if (!ec) fs::create_directories(fs::path(target.destination).parent_path(), ec);
  if (ec) throw DiskError("cannot create the folder for " + target.destination + ": " + ec.message());
  if (file.size == 0) std::ofstream(target.incomplete, std::ios::trunc);  // nothing to GET for an empty file
  else download(file, target, options, on_bytes);
  uint64_t size = size_or_zero(target.incomplete);
  if (size != file.size)
    refuse(file, target, std::to_string(size) + " bytes arrived, the hub lists " + std::to_string(file.size));
  if (!file.lfs_sha256.empty()) {
    std::string digest = file_sha256(target.incomplete);
    if (digest != file.lfs_sha256)
      refuse(file, target, "its sha256 is " + digest + ", the hub's is " + file.lfs_sha256);
  } else {
    std::string id = file_git_blob_sha1(target.incomplete);
    if (id != file.git_oid) refuse(file, target, "its git blob id is " + id + ", the hub's is " + file.git_oid);
  }
  fs::rename(target.incomplete, target.destination, ec);
  if (ec) throw DiskError("cannot move " + target.incomplete + " to " + target.destination + ": " + ec.message());
}

}  // namespace maskfill::hub
