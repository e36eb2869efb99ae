// Where the hub is, who we are, and where its cache lives: the environment variables that
// huggingface_hub reads, with its defaults, so both tools agree on one cache.
#pragma once

#include <string>

namespace maskfill::hub {

struct HubSettings {
  std::string endpoint;   // HF_ENDPOINT, default https://huggingface.co (no trailing slash)
  std::string token;      // HF_TOKEN, else the token file `huggingface-cli login` wrote
  std::string cache_dir;  // HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub
};

HubSettings settings_from_environment();

// "ORG/NAME" as the hub allows it; throws std::invalid_argument saying what is wrong.
void check_repo_id(const std::string& repo_id);
// A file path from the hub's listing that stays inside the snapshot: relative, no "..".
// Throws std::runtime_error naming the path otherwise (a hostile or broken mirror).
void check_repo_path(const std::string& path);

}  // namespace maskfill::hub
