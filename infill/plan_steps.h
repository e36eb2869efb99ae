// Pieces of the request pipeline shared by infill/plan.cpp and infill/plan_next_edit.cpp; not
// an API for other layers (they use infill/plan.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "infill/plan.h"

namespace maskfill::plan_steps {

std::optional<int32_t> bos_id(const ModelView& model);
Candidate make_candidate(const SourceDocument& doc, ByteRange span, std::string text, const DecodeStats& stats);
// make_candidate in two halves, for a caller that may hold the answer back for a cheaper reason
// first: the syntax check reparses the document with the answer spliced in.
Candidate unchecked_candidate(const SourceDocument& doc, ByteRange span, std::string text, const DecodeStats& stats);
void check_syntax(const SourceDocument& doc, Candidate& candidate);

// Decodes every site of a NextEdit plan as one batch and gates each answer.
CompletionOutcome execute_next_edit(Engine& engine, const SourceDocument& doc, const Plan& plan,
                                    const CancelCheck& cancel);

}  // namespace maskfill::plan_steps
