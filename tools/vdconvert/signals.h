// SIGINT / SIGTERM handling without async-signal-safety puzzles: main() blocks the signals
// before any thread starts (threads inherit the mask), and one watcher thread sigwait()s for
// them. The first signal during a cancellable operation requests a stop on a std::stop_source
// whose token the library watches; it then unwinds, removes its temporary output and returns
// Errc::cancelled. A second signal, or a signal while nothing cancellable runs (nothing to
// clean up), exits at once with status 130. A SIGINT that was ignored when vdconvert started
// (a background job of a shell without job control) stays ignored.
#ifndef VDCONVERT_SIGNALS_H_
#define VDCONVERT_SIGNALS_H_

#include <atomic>
#include <stop_token>
#include <thread>

#include "console.h"

namespace vdconvert {

// Blocks SIGINT, SIGTERM (and the watcher's private wake-up signal) in the calling thread and
// ignores SIGPIPE, so that writing to a closed pipe is an EPIPE error instead of death. Call
// first thing in main(), before any thread exists.
void block_termination_signals();

class SignalWatcher {
 public:
  explicit SignalWatcher(Console& console);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  std::stop_token token() const { return stop_.get_token(); }
  // While true, a first signal requests a stop instead of exiting.
  void set_cancellable(bool on) { cancellable_.store(on); }
  // The signal received, or 0.
  int signal_received() const { return signal_.load(); }

 private:
  void run();

  Console& console_;
  std::stop_source stop_;
  std::atomic<bool> cancellable_{false};
  std::atomic<bool> quitting_{false};
  std::atomic<int> signal_{0};
  std::thread thread_;
};

}  // namespace vdconvert

#endif  // VDCONVERT_SIGNALS_H_
