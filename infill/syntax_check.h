// Does a candidate parse? Splice it into a copy of the document, reparse incrementally, and
// compare the ERROR/MISSING nodes in the edited region before and after.
#pragma once

#include <string_view>

#include "infill/source_document.h"
#include "infill/span_finder.h"

namespace maskfill {

// ERROR and MISSING nodes that touch [region.begin, region.end].
int count_syntax_errors(const SourceDocument& doc, ByteRange region);

struct SyntaxVerdict {
  int errors_before = 0;  // in the replaced span of the original
  int errors_after = 0;   // in the inserted text of the spliced copy
  // The whole document parsed cleanly before and not after. Error recovery can put the error a
  // replacement causes outside it (a stray `}` closes a block early; the ERROR is at the end).
  bool breaks_clean_document = false;
  bool ok() const { return errors_after <= errors_before; }
};

// Documents without a grammar always pass.
SyntaxVerdict check_replacement(const SourceDocument& doc, ByteRange span, std::string_view text);

}  // namespace maskfill
