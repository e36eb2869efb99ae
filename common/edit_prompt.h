// The user message of an instruction edit, shared by the server's prompt builder and the SFT
// data, so the model is trained on exactly what it is later asked.
#pragma once

#include <string>

namespace maskfill {

inline std::string edit_user_message(const std::string& instruction, const std::string& code) {
  return instruction + "\n\n" + code;
}

}  // namespace maskfill
