// `maskfill model pull`: a whole snapshot of a model repository at one revision, into the
// hub's cache (shared with huggingface_hub) or into a plain folder.
#pragma once

#include <cstdint>
#include <string>

#include "inference/hub/hub_settings.h"

namespace maskfill::hub {

struct PullRequest {
  std::string repo_id;
  std::string revision = "main";
  std::string local_dir;  // empty: the hub cache
};

struct PullResult {
  std::string model_dir;  // what --model takes
  std::string commit;
  size_t fetched = 0, reused = 0;
  uint64_t fetched_bytes = 0;
  bool offline = false;  // the hub was unreachable and a cached snapshot was used
};

// Throws std::invalid_argument for bad input, NetworkError, DiskError, or std::runtime_error
// with the hub's refusal or a file that failed its check, each in words naming the problem.
PullResult pull_snapshot(const HubSettings& settings, const PullRequest& request);

}  // namespace maskfill::hub
