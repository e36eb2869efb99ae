#include "lsp-server/framing.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace maskfill::lsp {
namespace {

constexpr std::string_view kHeaderEnd = "\r\n\r\n";
constexpr std::string_view kContentLength = "content-length";

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Parses the header block (without the final blank line). Returns an error message or "".
std::string read_content_length(std::string_view headers, size_t& length) {
  bool found = false;
  while (!headers.empty()) {
    size_t eol = headers.find("\r\n");
    std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      return "malformed header line '" + std::string(line.substr(0, 80)) + "' (expected 'Name: value')";
    if (lowercase(trim(line.substr(0, colon))) != kContentLength) continue;  // Content-Type etc.
    std::string_view value = trim(line.substr(colon + 1));
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty())
      return "invalid Content-Length '" + std::string(value.substr(0, 40)) + "'";
    found = true;
  }
  return found ? "" : "header without Content-Length";
}

}  // namespace

void FrameParser::feed(std::string_view bytes) {
  if (skip_bytes_ > 0) {
    size_t skipped = std::min(skip_bytes_, bytes.size());
    skip_bytes_ -= skipped;
    bytes.remove_prefix(skipped);
  }
  buffer_.append(bytes);
  parse_available();
}

bool FrameParser::next(FrameEvent& event) {
  if (events_.empty()) return false;
  event = std::move(events_.front());
  events_.pop_front();
  return true;
}

void FrameParser::parse_available() {
  for (;;) {
    if (!in_body_ && !parse_header()) return;
    if (!in_body_) continue;  // a bad header was skipped; look for the next one
    if (buffer_.size() < body_length_) return;
    events_.emplace_back(buffer_.substr(0, body_length_));
    buffer_.erase(0, body_length_);
    in_body_ = false;
  }
}

bool FrameParser::parse_header() {
  size_t end = buffer_.find(kHeaderEnd);
  if (end == std::string::npos) {
    if (buffer_.size() > limits_.max_header_bytes) {
      events_.emplace_back(FrameError{"header longer than " + std::to_string(limits_.max_header_bytes) +
                                      " bytes without a blank line; skipped"});
      resync_after_bad_header(1);
      return true;
    }
    return false;
  }
  size_t length = 0;
  std::string error = read_content_length(std::string_view(buffer_).substr(0, end), length);
  if (!error.empty()) {
    events_.emplace_back(FrameError{error + "; frame skipped"});
    resync_after_bad_header(1);
    return true;
  }
  buffer_.erase(0, end + kHeaderEnd.size());
  if (length > limits_.max_body_bytes) {
    events_.emplace_back(FrameError{"message of " + std::to_string(length) + " bytes exceeds the limit of " +
                                    std::to_string(limits_.max_body_bytes) + " bytes; skipped"});
    size_t skipped = std::min(length, buffer_.size());
    buffer_.erase(0, skipped);
    skip_bytes_ = length - skipped;
    return true;
  }
  body_length_ = length;
  in_body_ = true;
  return true;
}

// Drops bytes up to the next "Content-Length" header at or after `from` (garbage before a good
// header costs nothing; a header block without a length costs its message), so a corrupt
// frame costs one message, not the session.
void FrameParser::resync_after_bad_header(size_t from) {
  std::string lower = lowercase(buffer_);
  size_t next = lower.find(kContentLength, from);
  if (next == std::string::npos) {
    // Keep a tail that may be the start of a header name split across reads.
    size_t keep = std::min(buffer_.size(), kContentLength.size() - 1);
    while (keep > 0 && !kContentLength.starts_with(std::string_view(lower).substr(lower.size() - keep))) --keep;
    buffer_.erase(0, buffer_.size() - keep);
  } else {
    buffer_.erase(0, next);
  }
}

std::string frame_message(std::string_view body) {
  std::string out = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out.append(body);
  return out;
}

}  // namespace maskfill::lsp
