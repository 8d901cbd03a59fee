// Console: the one place where vdconvert writes to its standard output and standard error.
// Every byte the tool prints passes through here, except the bytes of an image or file that a
// command writes as its data to DST '-' (convert, iso extract), which the library writes
// straight to descriptor 1 through vdisk::fd_sink; stdout then carries nothing else.
//
// What goes where:
//   stdout  results: the command's output proper, printed once it is known (help, version and
//           generated documents; info/measure/check/repair/descriptor text and JSON documents;
//           iso listings; convert's --checksums lines and an upload's object id), by print().
//   stderr  messages, one line each: "vdconvert: error|warning|note: ..." (error(), warning(),
//           note()), and the lines that are not about a failure (the convert summary, "vdconvert:
//           interrupted", iso extract's summary) by line(); the progress status line (status(),
//           clear_status()); and a result that cannot go to stdout because stdout carries image
//           data (print_stderr(): convert's --checksums lines with DST '-').
//
// Flushing: nothing is buffered. Each call is one write(2) of the whole text (repeated only after
// a short write or EINTR), so what a call printed is out before it returns, and a message is never
// split by another thread's.
//
// Threads: error(), warning(), note(), line(), status(), clear_status(), print_stderr() and the
// DiagnosticFn of diagnostic_fn() / DiagnosticLog may be called from any thread (library
// diagnostics and upload retry notes come from worker threads, progress from the pipeline's
// writer thread, "interrupted" from the signal watcher); they share one mutex, and a message first
// erases a status line that is on screen so the two never tear each other's output. print() is for
// the main thread, after the work is done; it has a mutex of its own, so a stdout that blocks (a
// stalled pipe) never holds up stderr, and the signal watcher can always print "interrupted" and
// exit. set_quiet() must be called before any thread may print.
//
// Secrets: a message passes through vdisk::redact_secrets before it is written, so a URL's
// credentials (an Azure SAS signature, a presigned query, user information) are never shown even
// when a caller forgot to redact; the text of a word without '?' or '@' is unchanged. Results are
// printed as they are: the commands build them from redacted names (convert's DST, the upload
// report), and a document's bytes must not change.
//
// Errors: a failed write to stderr cannot be reported anywhere and is dropped; print() and
// print_stderr() return the write's error ("<stdout>: write: ...") for the command's exit status.
#ifndef VDCONVERT_CONSOLE_H_
#define VDCONVERT_CONSOLE_H_

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/image.h"
#include "vdisk/status.h"

namespace vdconvert {

class Console {
 public:
  // `stderr_is_terminal` decides whether a status line is redrawn in place ("\r") or printed
  // as a line of its own.
  explicit Console(bool stderr_is_terminal) : terminal_(stderr_is_terminal) {}

  bool terminal() const { return terminal_; }

  // --- stdout: results (main thread) ---
  // Writes `text` as it is (no newline added).
  vdisk::Status print(std::string_view text);
  // Writes a result to stderr instead, when stdout carries image data.
  vdisk::Status print_stderr(std::string_view text);

  // --- stderr: messages (any thread) ---
  // "vdconvert: error: <message>" and friends.
  void error(std::string_view message) { message_line("vdconvert: error: ", message); }
  void warning(std::string_view message) { message_line("vdconvert: warning: ", message); }
  // Notes are dropped after set_quiet(true) (-q, every command); warnings and errors never are.
  void note(std::string_view message) {
    if (!quiet_) message_line("vdconvert: note: ", message);
  }
  // Call before any thread may print.
  void set_quiet(bool quiet) { quiet_ = quiet; }
  bool quiet() const { return quiet_; }
  // Writes `text` (redacted) and a newline, erasing the status line first.
  void line(std::string_view text);
  // Replaces the status line (terminal) or prints it as a line (otherwise).
  void status(std::string_view text);
  // Erases the status line if one is shown.
  void clear_status();

  // A DiagnosticFn that prints library diagnostics as notes and warnings.
  vdisk::DiagnosticFn diagnostic_fn();

 private:
  void message_line(std::string_view prefix, std::string_view message);
  // Writes all of `bytes` to `fd`, or returns the errno of the failed write (0 on success).
  static int write_all(int fd, std::string_view bytes);
  static vdisk::Status print_to(std::mutex& mu, int fd, std::string_view name,
                                std::string_view text);

  std::mutex mu_;      // stderr
  std::mutex out_mu_;  // stdout
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
