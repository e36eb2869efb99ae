#include "inference/hub/hub_api.h"

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <stdexcept>

namespace maskfill::hub {
namespace {

using json = nlohmann::json;

json parse_json(const std::string& text, const std::string& source) {
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) throw std::runtime_error("the hub's answer to " + source + " is not JSON");
  return value;
}

std::string string_field(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_hex(const std::string& text, size_t length) {
  return text.size() == length && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string hub_message(const HttpResponse& response) {
  std::string message = response.header("x-error-message");
  return message.empty() ? std::string() : " (the hub says: " + message.substr(0, 300) + ")";
}

}  // namespace

RevisionInfo parse_revision_info(const std::string& json_text, const std::string& source) {
  json value = parse_json(json_text, source);
  if (!value.is_object()) throw std::runtime_error("the hub's answer to " + source + " is not a JSON object");
  RevisionInfo info;
  info.commit = string_field(value, "sha");
  if (!is_hex(info.commit, 40)) throw std::runtime_error("the hub's answer to " + source + " has no commit sha");
  auto siblings = value.find("siblings");
  if (siblings == value.end() || !siblings->is_array())
    throw std::runtime_error("the hub's answer to " + source + " has no file list (siblings)");
  for (const json& sibling : *siblings)
    if (sibling.is_object() && !string_field(sibling, "rfilename").empty())
      info.filenames.push_back(string_field(sibling, "rfilename"));
  return info;
}

std::vector<HubFile> parse_tree_page(const std::string& json_text, const std::string& source) {
  json value = parse_json(json_text, source);
  if (!value.is_array()) throw std::runtime_error("the hub's answer to " + source + " is not a JSON list");
  std::vector<HubFile> files;
  for (const json& entry : value) {
    if (!entry.is_object() || string_field(entry, "type") != "file") continue;
    HubFile file;
    file.path = string_field(entry, "path");
    file.git_oid = string_field(entry, "oid");
    auto size = entry.find("size");
    if (size == entry.end() || !size->is_number_unsigned() || !is_hex(file.git_oid, 40))
      throw std::runtime_error("the hub's answer to " + source + " lacks the size or id of '" + file.path + "'");
    file.size = size->get<uint64_t>();
    auto lfs = entry.find("lfs");
    if (lfs != entry.end() && lfs->is_object()) {
      file.lfs_sha256 = string_field(*lfs, "oid");
      if (!is_hex(file.lfs_sha256, 64))
        throw std::runtime_error("the hub's answer to " + source + " has no sha256 for '" + file.path + "'");
    }
    check_repo_path(file.path);
    files.push_back(std::move(file));
  }
  return files;
}

void throw_http_error(const HttpResponse& response, const std::string& repo_id, const std::string& revision,
                      const std::string& what, bool has_token) {
  std::string code = response.header("x-error-code"), hub = hub_message(response);
  long status = response.status;
  if (code == "GatedRepo" || status == 403)
    throw std::runtime_error(
        repo_id + " is gated or restricted and " +
        (has_token ? "the token in HF_TOKEN has no access to it" : "no token was given (set HF_TOKEN)") +
        ": accept its terms on its page on the hub, then use a token of that account (HTTP " +
        std::to_string(status) + ")" + hub);
  if (code == "RevisionNotFound")
    throw std::runtime_error("revision '" + revision + "' not found in " + repo_id + " (HTTP " +
                             std::to_string(status) + ")");
  if (code == "EntryNotFound") throw std::runtime_error(what + " not found in " + repo_id + " at " + revision);
  if (status == 401)
    throw std::runtime_error(
        has_token ? "the hub refused the token in HF_TOKEN for " + repo_id +
                        " (HTTP 401): it is invalid or expired, or the repository does not exist" + hub
                  : repo_id + " needs a token (HTTP 401): it is private or gated, or does not exist; set "
                              "HF_TOKEN to a token with read access (https://huggingface.co/settings/tokens)" + hub);
  if (status == 404)
    throw std::runtime_error("repository " + repo_id + " or revision '" + revision + "' not found (HTTP 404 for " +
                             what + ")" + hub);
  if (status == 429) throw std::runtime_error("the hub is rate-limiting this machine (HTTP 429); try again later");
  if (status >= 500)
    throw std::runtime_error("the hub failed to answer for " + what + " (HTTP " + std::to_string(status) +
                             "); try again later");
  throw std::runtime_error("unexpected HTTP " + std::to_string(status) + " for " + what + hub);
}

HubApi::HubApi(HubSettings settings, std::string repo_id) : settings_(std::move(settings)), repo_id_(std::move(repo_id)) {}

RequestOptions HubApi::request_options() const {
  RequestOptions options;
  options.token = settings_.token;
  return options;
}

RevisionInfo HubApi::revision(const std::string& revision) const {
  std::string url = settings_.endpoint + "/api/models/" + repo_id_ + "/revision/" + url_escape(revision, false);
  HttpResponse response = http_get_text(url, request_options());
  if (response.status != 200)
    throw_http_error(response, repo_id_, revision, "the file list", !settings_.token.empty());
  return parse_revision_info(response.body, url);
}

std::vector<HubFile> HubApi::files(const RevisionInfo& info) const {
  std::vector<HubFile> files;
  std::string url = settings_.endpoint + "/api/models/" + repo_id_ + "/tree/" + info.commit + "?recursive=true";
  while (!url.empty()) {
    HttpResponse response = http_get_text(url, request_options());
    if (response.status != 200)
      throw_http_error(response, repo_id_, info.commit, "the file tree", !settings_.token.empty());
    for (HubFile& file : parse_tree_page(response.body, url)) files.push_back(std::move(file));
    std::string next = next_link(response.header("link"));
    url = next.empty() ? next : resolve_location(url, next);
  }
  std::set<std::string> listed;
  for (const HubFile& file : files) listed.insert(file.path);
  for (const std::string& name : info.filenames)
    if (!listed.count(name))
      throw std::runtime_error("the hub's file tree of " + repo_id_ + " lacks '" + name + "', which its file list names");
  return files;
}

std::string HubApi::file_url(const std::string& commit, const std::string& path) const {
  return settings_.endpoint + "/" + repo_id_ + "/resolve/" + commit + "/" + url_escape(path, true);
}

}  // namespace maskfill::hub
