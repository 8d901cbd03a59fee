// See console.h. The only file of vdconvert that writes to descriptors 1 and 2.
#include "console.h"

#include <unistd.h>

#include <cerrno>

#include "vdisk/cloud.h"

namespace vdconvert {
namespace {
// Carriage return, then "erase to end of line".
constexpr std::string_view kEraseLine = "\r\033[K";
constexpr int kStdout = 1;
constexpr int kStderr = 2;
}  // namespace

int Console::write_all(int fd, std::string_view bytes) {
  // One write() per call where possible.
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

vdisk::Status Console::print_to(std::mutex& mu, int fd, std::string_view name,
                                std::string_view text) {
  const std::lock_guard lock(mu);
  if (const int err = write_all(fd, text); err != 0) return vdisk::errno_status(err, name, "write");
  return {};
}

vdisk::Status Console::print(std::string_view text) {
  return print_to(out_mu_, kStdout, "<stdout>", text);
}

vdisk::Status Console::print_stderr(std::string_view text) {
  return print_to(mu_, kStderr, "<stderr>", text);
}

void Console::message_line(std::string_view prefix, std::string_view message) {
  line(std::string(prefix).append(message));
}

void Console::line(std::string_view text) {
  const std::string shown = vdisk::redact_secrets(text);
  const std::lock_guard lock(mu_);
  std::string out;
  out.reserve(shown.size() + 8);
  if (status_shown_) out += kEraseLine;
  out += shown;
  out += '\n';
  status_shown_ = false;
  // stderr errors cannot be reported anywhere.
  write_all(kStderr, out);
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
  write_all(kStderr, out);
}

void Console::clear_status() {
  const std::lock_guard lock(mu_);
  if (!status_shown_) return;
  status_shown_ = false;
  write_all(kStderr, kEraseLine);
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
