// The console's contract (console.h): results go to stdout as they are, messages to stderr one
// whole line each, notes obey -q, a URL's secrets never reach the terminal, and lines written
// from several threads at once are never torn.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "console.h"

namespace {

// Runs `body` with descriptor `fd` pointing into a pipe and returns what was written to it.
// Nothing may write to `fd` from elsewhere meanwhile (Catch reports after the test body's
// checks, which run outside `body`).
template <class Body>
std::string capture(int fd, Body body) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const int saved = ::dup(fd);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(p[1], fd) == fd);
  ::close(p[1]);
  body();
  ::dup2(saved, fd);
  ::close(saved);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  return out;
}

}  // namespace

TEST_CASE("console: results on stdout as they are, messages on stderr", "[cli][console]") {
  vdconvert::Console console(false);
  vdisk::Status s;
  const std::string out = capture(1, [&] { s = console.print("{\"a\": 1}\nno newline"); });
  CHECK(s.ok());
  CHECK(out == "{\"a\": 1}\nno newline");
  const std::string err = capture(2, [&] {
    console.error("bad");
    console.warning("odd");
    console.note("fyi");
    console.line("vdconvert: done");
    console.status("50%");  // not a terminal: a line of its own
    CHECK(console.print_stderr("sha256: x\n").ok());
  });
  CHECK(err ==
        "vdconvert: error: bad\nvdconvert: warning: odd\nvdconvert: note: fyi\n"
        "vdconvert: done\n50%\nsha256: x\n");
}

TEST_CASE("console: -q drops notes, never warnings or errors", "[cli][console]") {
  vdconvert::Console console(false);
  console.set_quiet(true);
  const std::string err = capture(2, [&] {
    console.note("fyi");
    console.warning("odd");
    console.error("bad");
    console.diagnostic_fn()({vdisk::Diagnostic::Level::note, "library note"});
    console.diagnostic_fn()({vdisk::Diagnostic::Level::warning, "library warning"});
  });
  CHECK(err ==
        "vdconvert: warning: odd\nvdconvert: error: bad\nvdconvert: warning: library warning\n");
}

TEST_CASE("console: a URL's secrets never reach stderr", "[cli][console]") {
  vdconvert::Console console(false);
  const std::string err = capture(2, [&] {
    console.error("upload to https://a.blob.core.windows.net/c/d.vhd?sv=2024&sig=S3CRET failed");
    console.line("vdconvert: x -> https://h/p?X-Amz-Signature=S3CRET done");
  });
  CHECK(err.find("S3CRET") == std::string::npos);
  CHECK(err.find("sig=REDACTED") != std::string::npos);
  CHECK(err.find("X-Amz-Signature=REDACTED") != std::string::npos);
  // Words without a query are unchanged.
  const std::string plain = capture(2, [&] { console.error("did you mean '--force'?"); });
  CHECK(plain == "vdconvert: error: did you mean '--force'?\n");
}

TEST_CASE("console: a terminal's status line is erased before a message", "[cli][console]") {
  vdconvert::Console console(true);
  const std::string err = capture(2, [&] {
    console.status("10%");
    console.note("n");
    console.status("20%");
    console.clear_status();
    console.clear_status();  // nothing shown: nothing written
  });
  CHECK(err == "\r\033[K10%\r\033[Kvdconvert: note: n\n\r\033[K20%\r\033[K");
}

TEST_CASE("console: lines from many threads are never torn", "[cli][console]") {
  vdconvert::Console console(false);
  // 8 * 100 lines of 61 bytes: less than a pipe holds (64 KiB), read once the threads end.
  constexpr int kThreads = 8, kLines = 100;
  const std::string err = capture(2, [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&console, t] {
        for (int i = 0; i < kLines; ++i)
          console.warning(std::string(40, static_cast<char>('a' + t)));
      });
    for (auto& th : threads) th.join();
  });
  std::size_t lines = 0, start = 0;
  while (start < err.size()) {
    const std::size_t end = err.find('\n', start);
    REQUIRE(end != std::string::npos);
    const std::string line = err.substr(start, end - start);
    REQUIRE(line.size() == std::string("vdconvert: warning: ").size() + 40);
    CHECK(line.find_first_not_of(line.back(), 20) == std::string::npos);
    ++lines;
    start = end + 1;
  }
  CHECK(lines == kThreads * kLines);
}

TEST_CASE("console: a failed result write is an error naming the stream", "[cli][console]") {
  vdconvert::Console console(false);
  int p[2];
  REQUIRE(::pipe(p) == 0);
  ::close(p[0]);  // no reader: EPIPE (SIGPIPE is ignored here, as vdconvert's main() does)
  const auto old = std::signal(SIGPIPE, SIG_IGN);
  const int saved = ::dup(1);
  ::dup2(p[1], 1);
  ::close(p[1]);
  const vdisk::Status s = console.print("x");
  ::dup2(saved, 1);
  ::close(saved);
  std::signal(SIGPIPE, old);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().starts_with("<stdout>: write: "));
}

TEST_CASE("console: a stdout that blocks does not hold up stderr", "[cli][console]") {
  // A reader that stopped reading: stdout's pipe is full, so print() blocks in write(). A
  // message (the signal watcher's "interrupted", a worker's warning) must still get out.
  vdconvert::Console console(false);
  int out[2], err[2];
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::pipe(err) == 0);
  const int flags = ::fcntl(out[1], F_GETFL);
  REQUIRE(::fcntl(out[1], F_SETFL, flags | O_NONBLOCK) == 0);
  const std::string chunk(4096, 'f');
  while (::write(out[1], chunk.data(), chunk.size()) > 0) {
  }
  REQUIRE(::fcntl(out[1], F_SETFL, flags) == 0);
  const int saved_out = ::dup(1), saved_err = ::dup(2);
  ::dup2(out[1], 1);
  ::dup2(err[1], 2);
  ::close(out[1]);
  ::close(err[1]);

  vdisk::Status printed = vdisk::internal_error("not yet");
  std::thread writer([&] { printed = console.print("result\n"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::atomic<bool> said{false};
  std::thread messenger([&] {
    console.error("still here");
    said = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!said && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool prompt = said;
  // Drain stdout's pipe so that the blocked print() (and, were stderr held up, the message)
  // completes.
  std::string drained;
  char buf[4096];
  while (drained.find("result\n") == std::string::npos) {
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    drained.append(buf, static_cast<std::size_t>(n));
  }
  writer.join();
  messenger.join();
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  ::close(saved_out);
  ::close(saved_err);
  const ssize_t n = ::read(err[0], buf, sizeof buf);
  ::close(out[0]);
  ::close(err[0]);
  CHECK(prompt);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == "vdconvert: error: still here\n");
  CHECK(printed.ok());
  CHECK(drained.ends_with("result\n"));
}
