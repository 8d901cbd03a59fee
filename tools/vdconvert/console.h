// Console: every line vdconvert prints on stderr goes through here, so that diagnostics from
// the library (any thread) and the progress bar (the pipeline's writer thread) never tear each
// other's output: a message first erases a progress line that is on screen.
#ifndef VDCONVERT_CONSOLE_H_
#define VDCONVERT_CONSOLE_H_

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/image.h"

namespace vdconvert {

class Console {
 public:
  // `stderr_is_terminal` decides whether a status line is redrawn in place ("\r") or printed
  // as a line of its own.
  explicit Console(bool stderr_is_terminal) : terminal_(stderr_is_terminal) {}

  bool terminal() const { return terminal_; }

  // "vdconvert: error: <message>" and friends. Thread-safe.
  void error(std::string_view message) { line(std::string("vdconvert: error: ").append(message)); }
  void warning(std::string_view message) {
    line(std::string("vdconvert: warning: ").append(message));
  }
  // Notes are dropped after set_quiet(true) (-q, every command); warnings and errors never are.
  void note(std::string_view message) {
    if (!quiet_) line(std::string("vdconvert: note: ").append(message));
  }
  // Call before any thread may print.
  void set_quiet(bool quiet) { quiet_ = quiet; }
  bool quiet() const { return quiet_; }
  // Writes `text` and a newline, erasing the status line first. Thread-safe.
  void line(std::string_view text);
  // Replaces the status line (terminal) or prints it as a line (otherwise). Thread-safe.
  void status(std::string_view text);
  // Erases the status line if one is shown. Thread-safe.
  void clear_status();

  // A DiagnosticFn that prints library diagnostics as notes and warnings.
  vdisk::DiagnosticFn diagnostic_fn();

 private:
  void write_locked(std::string_view bytes);

  std::mutex mu_;
  bool terminal_;
  bool status_shown_ = false;
  bool quiet_ = false;
};

// Prints a run's diagnostics through the console as they come and keeps them for its --json
// report. fn() may be called from any thread; the log must outlive the run.
class DiagnosticLog {
 public:
  explicit DiagnosticLog(Console& console) : print_(console.diagnostic_fn()) {}
  vdisk::DiagnosticFn fn();
  std::vector<vdisk::Diagnostic> entries() const;

 private:
  vdisk::DiagnosticFn print_;
  mutable std::mutex mu_;
  std::vector<vdisk::Diagnostic> entries_;
};

}  // namespace vdconvert

#endif  // VDCONVERT_CONSOLE_H_
