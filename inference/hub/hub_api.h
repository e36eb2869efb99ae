// The hub's HTTP API for one model repository: which commit a revision names, which files that
// commit holds (sizes, git blob ids, LFS sha256), and the URL each file downloads from.
//   GET {endpoint}/api/models/{repo}/revision/{revision}  -> sha, siblings[].rfilename
//   GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true  -> path, size, oid, lfs.oid
//       (paginated with a Link: <...>; rel="next" header)
//   GET {endpoint}/{repo}/resolve/{commit}/{path}  -> the file, or a redirect to a CDN for LFS
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "inference/hub/http_fetch.h"
#include "inference/hub/hub_settings.h"

namespace maskfill::hub {

struct HubFile {
  std::string path;
  uint64_t size = 0;
  std::string git_oid;     // git blob sha1 (what the hub's ETag is for a non-LFS file)
  std::string lfs_sha256;  // empty unless the file is in LFS
  // The cache's blob name: huggingface_hub names blobs by ETag, which is the LFS sha256 or the git id.
  const std::string& blob_name() const { return lfs_sha256.empty() ? git_oid : lfs_sha256; }
};

struct RevisionInfo {
  std::string commit;                  // 40 hex digits
  std::vector<std::string> filenames;  // siblings
};

// Parsers of the API's JSON; throw std::runtime_error naming `source` on a malformed answer.
RevisionInfo parse_revision_info(const std::string& json_text, const std::string& source);
std::vector<HubFile> parse_tree_page(const std::string& json_text, const std::string& source);

// A refusal from the hub, in words a user can act on (401/403/404/429/5xx).
[[noreturn]] void throw_http_error(const HttpResponse& response, const std::string& repo_id,
                                   const std::string& revision, const std::string& what, bool has_token);

class HubApi {
 public:
  HubApi(HubSettings settings, std::string repo_id);
  RevisionInfo revision(const std::string& revision) const;
  // Every file of `commit`, checked against the revision's file list.
  std::vector<HubFile> files(const RevisionInfo& info) const;
  std::string file_url(const std::string& commit, const std::string& path) const;
  const HubSettings& settings() const { return settings_; }
  RequestOptions request_options() const;

 private:
  HubSettings settings_;
  std::string repo_id_;
};

}  // namespace maskfill::hub
