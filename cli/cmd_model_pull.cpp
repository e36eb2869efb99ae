// `maskfill model pull ORG/NAME [--revision R] [--dir D]`: downloads a Hugging Face snapshot
// (into the hub cache that huggingface_hub shares, or into D) and prints the directory to pass
// to --model. Progress goes to stderr on a terminal; stdout carries only that directory.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "common/command.h"
#include "inference/hub/http_fetch.h"
#include "inference/hub/hub_download.h"

namespace maskfill {
namespace {

constexpr const char* kEnvironment =
    "\nEnvironment (as huggingface_hub reads it):\n"
    "  HF_TOKEN      access token for private or gated models (else the file `huggingface-cli login` wrote)\n"
    "  HF_ENDPOINT   the hub or a mirror (default https://huggingface.co)\n"
    "  HF_HOME       cache root (default ~/.cache/huggingface); snapshots go to $HF_HOME/hub\n"
    "  HF_HUB_CACHE  the snapshot cache itself, overriding $HF_HOME/hub\n";

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "maskfill model pull: %s\n", message.c_str());
  return code;
}

int pull(const hub::PullRequest& request) {
  try {
    hub::PullResult result = hub::pull_snapshot(hub::settings_from_environment(), request);
    std::printf("%s\n", result.model_dir.c_str());
    return 0;
  } catch (const std::invalid_argument& error) {
    return fail(error.what(), 2);
  } catch (const hub::NetworkError& error) {
    return fail(std::string("network error: ") + error.what(), 1);
  } catch (const hub::DiskError& error) {
    return fail(std::string("disk error: ") + error.what(), 1);
  } catch (const std::filesystem::filesystem_error& error) {
    return fail("disk error at " + error.path1().string() + ": " + error.code().message(), 1);
  } catch (const std::runtime_error& error) {
    return fail(error.what(), 1);
  }
}

int model(int argc, char** argv) {
  CLI::App app{"Model snapshots from the Hugging Face hub"};
  app.require_subcommand(1);
  hub::PullRequest request;
  CLI::App* pull_command = app.add_subcommand(
      "pull", "download a model snapshot (resuming, checked against the hub's sha256) and print its directory");
  pull_command->add_option("repo", request.repo_id, "model id, ORG/NAME (e.g. ByteDance-Seed/Stable-DiffCoder-8B-Instruct)")
      ->required();
  pull_command->add_option("--revision", request.revision, "branch, tag or commit")->capture_default_str();
  pull_command->add_option("--dir", request.local_dir, "download into this folder instead of the hub cache");
  pull_command->footer(kEnvironment);
  CLI11_PARSE(app, argc, argv);
  if (!request.local_dir.empty()) request.local_dir = std::filesystem::absolute(request.local_dir).lexically_normal().string();
  return pull(request);
}

const RegisterCommand command{"model", "download a model from the Hugging Face hub (model pull ORG/NAME)", model};

}  // namespace
}  // namespace maskfill
