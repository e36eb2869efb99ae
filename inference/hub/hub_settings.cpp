#include "inference/hub/hub_settings.h"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <stdexcept>

namespace maskfill::hub {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::string trim(std::string text) {
  auto first = text.find_first_not_of(" \t\r\n"), last = text.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// huggingface_hub's HF_HOME: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::string hf_home() {
  if (!env("HF_HOME").empty()) return env("HF_HOME");
  if (!env("XDG_CACHE_HOME").empty()) return env("XDG_CACHE_HOME") + "/huggingface";
  return env("HOME") + "/.cache/huggingface";
}

std::string stored_token(const std::string& home) {
  std::string path = env("HF_TOKEN_PATH").empty() ? home + "/token" : env("HF_TOKEN_PATH");
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  return trim(token);
}

}  // namespace

HubSettings settings_from_environment() {
  HubSettings settings;
  settings.endpoint = env("HF_ENDPOINT").empty() ? "https://huggingface.co" : trim(env("HF_ENDPOINT"));
  while (!settings.endpoint.empty() && settings.endpoint.back() == '/') settings.endpoint.pop_back();
  std::string home = hf_home();
  settings.token = !env("HF_TOKEN").empty() ? trim(env("HF_TOKEN")) : stored_token(home);
  settings.cache_dir = !env("HF_HUB_CACHE").empty() ? env("HF_HUB_CACHE") : home + "/hub";
  return settings;
}

void check_repo_id(const std::string& repo_id) {
  // The hub's rule: letters, digits, '-', '_', '.'; no "--" or ".." (the cache folder uses "--").
  static const std::regex shape(R"([A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)");
  if (!std::regex_match(repo_id, shape))
    throw std::invalid_argument("'" + repo_id + "' is not a model id: expected ORG/NAME, e.g. "
                                "ByteDance-Seed/Stable-DiffCoder-8B-Instruct");
  if (repo_id.find("--") != std::string::npos || repo_id.find("..") != std::string::npos)
    throw std::invalid_argument("'" + repo_id + "' is not a model id: '--' and '..' are not allowed in it");
}

void check_repo_path(const std::string& path) {
  bool bad = path.empty() || path.front() == '/' || path.find('\\') != std::string::npos ||
             path.find('\0') != std::string::npos;
  for (size_t start = 0; !bad && start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    bad = part.empty() || part == "." || part == "..";
    start = end + 1;
  }
  if (bad) throw std::runtime_error("the hub listed a file with an unsafe path, refused: '" + path + "'");
}

}  // namespace maskfill::hub
