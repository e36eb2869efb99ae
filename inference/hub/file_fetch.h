// One file of a snapshot onto disk: downloaded into `{dest}.incomplete`, resumed with a Range
// request after an interruption (in this run, or in a later one), its size and digest checked
// against the hub's listing, then moved to `dest`. A file that fails its check is deleted.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "inference/hub/hub_api.h"

namespace maskfill::hub {

struct FetchTarget {
  std::string repo_id, revision;  // for error messages
  std::string url;          // the resolve URL
  std::string destination;  // where the verified file goes
  std::string incomplete;   // where its bytes collect meanwhile
};

// Throws NetworkError (after retries; the partial file is kept for the next run), DiskError, or
// std::runtime_error naming the file when it does not match the hub's size or digest.
void fetch_verified(const HubFile& file, const FetchTarget& target, const RequestOptions& options,
                    const std::function<void(uint64_t)>& on_bytes);

// Whether `path`'s content is what the hub lists for `file` (size, then sha256 or git id).
bool matches_hub(const HubFile& file, const std::string& path);

}  // namespace maskfill::hub
