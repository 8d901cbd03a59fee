// vdconvert's exit-code mapping, progress formatting, SOURCE_DATE_EPOCH parsing and the
// cancellable stdin stream.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "commands.h"
#include "exit_codes.h"
#include "progress.h"
#include "stdin_stream.h"

using vdisk::Errc;

TEST_CASE("cli: every Errc maps to its documented exit code", "[cli][exit]") {
  using namespace vdconvert;
  CHECK(exit_code_for(Errc::ok) == 0);
  CHECK(exit_code_for(Errc::invalid_argument) == 1);
  CHECK(exit_code_for(Errc::already_exists) == 1);
  CHECK(exit_code_for(Errc::corrupt) == 2);
  CHECK(exit_code_for(Errc::out_of_range) == 2);
  CHECK(exit_code_for(Errc::resource_exhausted) == 2);
  CHECK(exit_code_for(Errc::io_error) == 3);
  CHECK(exit_code_for(Errc::no_space) == 3);
  CHECK(exit_code_for(Errc::not_found) == 3);
  CHECK(exit_code_for(Errc::unsupported) == 4);
  CHECK(exit_code_for(Errc::internal) == 6);
  CHECK(exit_code_for(Errc::cancelled) == 130);
  CHECK(kExitCheckFailed == 5);
}

TEST_CASE("cli: byte counts, rates and durations are formatted for humans", "[cli][progress]") {
  using namespace vdconvert;
  CHECK(format_bytes(0) == "0 B");
  CHECK(format_bytes(1023) == "1023 B");
  CHECK(format_bytes(1536) == "1.50 KiB");
  CHECK(format_bytes(20ull << 20) == "20.0 MiB");
  CHECK(format_bytes(512ull << 20) == "512 MiB");
  CHECK(format_bytes(1ull << 30) == "1.00 GiB");
  CHECK(format_bytes(~0ull) == "16.0 EiB");
  CHECK(format_rate(2.0 * (1 << 20)) == "2.00 MiB/s");
  CHECK(format_rate(-1.0) == "? B/s");
  CHECK(format_duration(7.4) == "0:07");
  CHECK(format_duration(65) == "1:05");
  CHECK(format_duration(3723) == "1:02:03");
  CHECK(format_duration(-1) == "?");
  CHECK(format_duration(1e300) == "?");
}

TEST_CASE("cli: the progress line shows done, total, percent, rate and ETA", "[cli][progress]") {
  vdisk::Progress p;
  p.done_bytes = 512ull << 20;
  p.total_bytes = 1ull << 30;
  // 512 MiB in 4 s = 128 MiB/s; 512 MiB left = 4 s.
  CHECK(vdconvert::format_progress(p, 4.0) == "512 MiB / 1.00 GiB   50%  128 MiB/s  ETA 0:04");
  p.total_bytes = 0;  // a raw stream: size unknown until its end
  CHECK(vdconvert::format_progress(p, 4.0) == "512 MiB  128 MiB/s");
  p.total_bytes = 1ull << 30;
  p.done_bytes = 0;
  CHECK(vdconvert::format_progress(p, 0.0) == "0 B / 1.00 GiB    0%  0 B/s  ETA ?");
}

TEST_CASE("cli: SOURCE_DATE_EPOCH must be a non-negative whole number", "[cli][env]") {
  CHECK(*vdconvert::parse_source_date_epoch("1700000000") == 1700000000);
  CHECK(*vdconvert::parse_source_date_epoch("0") == 0);
  for (auto bad : {"", "-5", "12a", "1.5", "99999999999999999999999"}) {
    INFO(bad);
    auto r = vdconvert::parse_source_date_epoch(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
  }
}

TEST_CASE("cli: the stdin stream reads data and returns cancelled on a stop while idle",
          "[cli][signals]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::stop_source stop;
  auto in = vdconvert::cancellable_fd_stream(fds[0], "<pipe>", stop.get_token());
  REQUIRE(::write(fds[1], "abc", 3) == 3);
  std::byte buf[16];
  auto n = in->read(buf);
  REQUIRE(n.ok());
  CHECK(*n == 3);

  // Nothing more arrives: the read blocks until the stop request, then reports cancelled.
  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop.request_stop();
  });
  auto r = in->read(buf);
  stopper.join();
  const auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::cancelled);
  CHECK(waited >= std::chrono::milliseconds(100));
  CHECK(waited < std::chrono::seconds(2));

  ::close(fds[1]);
  ::close(fds[0]);
}

TEST_CASE("cli: the stdin stream reports end of stream as 0", "[cli][signals]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[1]);
  auto in = vdconvert::cancellable_fd_stream(fds[0], "<pipe>", {});
  std::byte buf[4];
  auto n = in->read(buf);
  REQUIRE(n.ok());
  CHECK(*n == 0);
  ::close(fds[0]);
}
