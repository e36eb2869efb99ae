// Reads a whole file; the one helper every command and stage uses for it.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace maskfill {

// Throws std::runtime_error naming the path when it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace maskfill
