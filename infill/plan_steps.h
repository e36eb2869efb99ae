// Pieces of the request pipeline shared by infill/plan.cpp and infill/plan_next_edit.cpp; not
// an API for other layers (they use infill/plan.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "infill/plan.h"

namespace maskfill::plan_steps {

std::optional<int32_t> bos_id(const ModelView& model);
// The indentation every non-blank line of `code` starts with.
std::string common_indent(std::string_view code);
// Every non-blank line with `remove` taken off its start and `add` put before it.
std::string shift_lines(std::string_view code, std::string_view remove, std::string_view add);
Candidate make_candidate(const SourceDocument& doc, ByteRange span, std::string text, const DecodeStats& stats);

// Decodes every site of a NextEdit plan as one batch and gates each answer.
CompletionOutcome execute_next_edit(Engine& engine, const SourceDocument& doc, const Plan& plan,
                                    const CancelCheck& cancel);

}  // namespace maskfill::plan_steps
