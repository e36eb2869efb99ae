// The text of infill/queries/<language>/<kind>.scm, compiled into the library at build time
// (see infill/CMakeLists.txt).
#pragma once

#include <string_view>
#include <vector>

namespace maskfill {

struct EmbeddedQuery {
  std::string_view language;  // query folder: "python", "typescript" (also used for tsx), ...
  std::string_view kind;      // file name without .scm: "decline", "blocks", "scopes"
  std::string_view text;
};

const std::vector<EmbeddedQuery>& embedded_queries();

}  // namespace maskfill
