// `--dir D`: a plain folder holding the snapshot's files, with huggingface_hub's local-dir
// bookkeeping so that a rerun (of maskfill or of `huggingface-cli download --local-dir D`) knows
// which files are already the listed version without hashing gigabytes again:
//   D/.cache/huggingface/download/{path}.metadata   commit, etag (blob name), time written
#pragma once

#include <string>

#include "inference/hub/hub_api.h"

namespace maskfill::hub {

class LocalDir {
 public:
  explicit LocalDir(std::string dir) : dir_(std::move(dir)) {}
  const std::string& path() const { return dir_; }
  std::string file(const std::string& path) const { return dir_ + "/" + path; }
  std::string incomplete(const std::string& path) const;
  // Whether D/{path} is the listed file: its metadata names this blob and the file was not
  // modified after the metadata was written.
  bool is_current(const HubFile& file) const;
  void record(const HubFile& file, const std::string& commit) const;

 private:
  std::string metadata(const std::string& path) const;
  std::string dir_;
};

}  // namespace maskfill::hub
