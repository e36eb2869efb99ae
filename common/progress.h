// Progress of long command-line work (model load, eval, benchmarks) on stderr, shown only when
// stderr is a terminal: pipes, files and editors get nothing, and stdout only ever carries the
// command's result. One line, redrawn in place at most ten times a second.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace maskfill {

class TerminalProgress {
 public:
  // `total` 0: no count, just "label ...".
  explicit TerminalProgress(std::string label, size_t total = 0)
      : label_(std::move(label)), total_(total), enabled_(enabled()), started_(Clock::now()) {
    draw(0, {}, true);
  }
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;
  ~TerminalProgress() { finish(); }

  // Whether progress is shown: stderr is a terminal and TERM is not "dumb".
  static bool enabled() {
    const char* term = std::getenv("TERM");
    return isatty(STDERR_FILENO) && !(term && std::strcmp(term, "dumb") == 0);
  }

  void update(size_t done, std::string_view detail = {}) { draw(done, detail, false); }

  // Replaces the line with "label: summary (N.N s)" (or clears it when summary is empty).
  void finish(std::string_view summary = {}) {
    if (!enabled_ || finished_) return;
    finished_ = true;
    if (summary.empty()) {
      if (total_ > 0) std::fprintf(stderr, "\r\033[K");
    } else {
      std::fprintf(stderr, "\r\033[K%s: %.*s (%.1f s)\n", label_.c_str(), static_cast<int>(summary.size()),
                   summary.data(), seconds());
    }
    std::fflush(stderr);
  }

  double seconds() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

 private:
  using Clock = std::chrono::steady_clock;

  void draw(size_t done, std::string_view detail, bool force) {
    if (!enabled_ || finished_) return;
    auto now = Clock::now();
    if (total_ == 0 && !force) return;
    if (!force && now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
    last_draw_ = now;
    std::string line = "\r\033[K" + label_;
    if (total_ > 0) {
      line += ": " + std::to_string(done) + "/" + std::to_string(total_) + " (" +
              std::to_string(total_ ? done * 100 / total_ : 0) + "%)";
    } else {
      // No count to redraw: a whole line, so that log lines printed meanwhile do not run into it.
      std::fprintf(stderr, "\r\033[K%s ...\n", label_.c_str());
      std::fflush(stderr);
      return;
    }
    if (!detail.empty()) line += " " + std::string(detail.substr(0, 60));
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

  std::string label_;
  size_t total_;
  bool enabled_;
  bool finished_ = false;
  Clock::time_point started_;
  Clock::time_point last_draw_{};
};

}  // namespace maskfill
