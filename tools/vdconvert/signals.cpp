#include "signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "exit_codes.h"

namespace vdconvert {
namespace {

// Sent by ~SignalWatcher to wake the watcher so it can be joined.
constexpr int kWakeSignal = SIGUSR1;

// A shell starts background jobs (`cmd &` without job control) with SIGINT ignored so that
// Ctrl-C meant for the foreground does not kill them; keep that convention. Written once in
// block_termination_signals() before any thread exists.
bool g_sigint_ignored = false;

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, kWakeSignal);
  return set;
}

}  // namespace

void block_termination_signals() {
  struct sigaction old {};
  g_sigint_ignored = ::sigaction(SIGINT, nullptr, &old) == 0 && old.sa_handler == SIG_IGN;
  const sigset_t set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

SignalWatcher::SignalWatcher(Console& console)
    : console_(console), thread_([this] { run(); }) {}

SignalWatcher::~SignalWatcher() {
  quitting_.store(true);
  pthread_kill(thread_.native_handle(), kWakeSignal);
  thread_.join();
}

void SignalWatcher::run() {
  const sigset_t set = watched_signals();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == kWakeSignal) {
      if (quitting_.load()) return;
      continue;  // a stray SIGUSR1 from outside: ignore it
    }
    if (sig == SIGINT && g_sigint_ignored) continue;
    const bool first = signal_.exchange(sig) == 0;
    if (first && cancellable_.load()) {
      stop_.request_stop();  // main() reports "interrupted" once the library has cleaned up
      continue;
    }
    console_.line("vdconvert: interrupted");
    ::_exit(kExitInterrupted);
  }
}

}  // namespace vdconvert
