#include "console.h"

#include <unistd.h>

#include <cerrno>

namespace vdconvert {
namespace {
// Carriage return, then "erase to end of line".
constexpr std::string_view kEraseLine = "\r\033[K";
}  // namespace

void Console::write_locked(std::string_view bytes) {
  // One write() per message where possible; stderr errors cannot be reported anywhere.
  while (!bytes.empty()) {
    const ssize_t n = ::write(2, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Console::line(std::string_view text) {
  const std::lock_guard lock(mu_);
  std::string out;
  out.reserve(text.size() + 8);
  if (status_shown_) out += kEraseLine;
  out += text;
  out += '\n';
  status_shown_ = false;
  write_locked(out);
}

void Console::status(std::string_view text) {
  const std::lock_guard lock(mu_);
  std::string out;
  if (terminal_) {
    out.append(kEraseLine).append(text);
    status_shown_ = true;
  } else {
    out.append(text).append("\n");
  }
  write_locked(out);
}

void Console::clear_status() {
  const std::lock_guard lock(mu_);
  if (!status_shown_) return;
  status_shown_ = false;
  write_locked(kEraseLine);
}

vdisk::DiagnosticFn Console::diagnostic_fn() {
  return [this](const vdisk::Diagnostic& d) {
    if (d.level == vdisk::Diagnostic::Level::warning)
      warning(d.message);
    else
      note(d.message);
  };
}

vdisk::DiagnosticFn DiagnosticLog::fn() {
  return [this](const vdisk::Diagnostic& d) {
    print_(d);
    const std::lock_guard lock(mu_);
    entries_.push_back(d);
  };
}

std::vector<vdisk::Diagnostic> DiagnosticLog::entries() const {
  const std::lock_guard lock(mu_);
  return entries_;
}

}  // namespace vdconvert
