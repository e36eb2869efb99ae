#include "inference/hub/local_dir.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "inference/hub/http_fetch.h"

namespace maskfill::hub {
namespace fs = std::filesystem;
namespace {

double unix_seconds(fs::file_time_type time) {
  auto system = std::chrono::file_clock::to_sys(time);
  return std::chrono::duration<double>(system.time_since_epoch()).count();
}

}  // namespace

std::string LocalDir::metadata(const std::string& path) const {
  return dir_ + "/.cache/huggingface/download/" + path + ".metadata";
}

std::string LocalDir::incomplete(const std::string& path) const {
  return dir_ + "/.cache/huggingface/download/" + path + ".incomplete";
}

bool LocalDir::is_current(const HubFile& file) const {
  std::ifstream in(metadata(file.path));
  std::string commit, etag;
  double written = 0;
  if (!(in >> commit >> etag >> written) || etag != file.blob_name()) return false;
  std::error_code ec;
  auto modified = fs::last_write_time(this->file(file.path), ec);
  // One second of slack, as huggingface_hub allows, for file systems with coarse timestamps.
  return !ec && fs::file_size(this->file(file.path), ec) == file.size && !ec && unix_seconds(modified) - 1 <= written;
}

void LocalDir::record(const HubFile& file, const std::string& commit) const {
  std::string path = metadata(file.path);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::ofstream out(path, std::ios::trunc);
  out << commit << '\n' << file.blob_name() << '\n' << std::fixed << now << '\n';
  if (ec || !out.flush()) throw DiskError("cannot write " + path);
}

}  // namespace maskfill::hub
