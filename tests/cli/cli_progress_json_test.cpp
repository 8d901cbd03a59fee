// The JSON progress lines (tools/vdconvert/progress_json.h) with an injected clock, and the
// parsing of --progress[=FORMAT].
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cli.h"
#include "cli_test_util.h"
#include "commands.h"
#include "progress.h"
#include "progress_json.h"

using vdconvert::ConvertArgs;
using vdconvert::JsonProgressWriter;
using vdconvert::ProgressMode;
using vdconvert::test::args_of;
using vdconvert::test::parse;
using vdconvert::test::require_error;
using vdisk::Progress;
using vdisk::ProgressPhase;

namespace {

struct Harness {
  double now = 0;
  std::vector<std::string> lines;
  JsonProgressWriter writer{[this](std::string_view l) { lines.emplace_back(l); },
                            [this] { return now; }, 1.0, 5.0};
};

Progress at(ProgressPhase phase, std::uint64_t read, std::uint64_t done = 0) {
  Progress p;
  p.phase = phase;
  p.total_bytes = 100ull << 20;
  p.data_total_bytes = 40ull << 20;
  p.read_bytes = read;
  p.data_bytes = read;
  p.done_bytes = done;
  p.zero_bytes = done - read;
  return p;
}

bool has(const std::string& line, const std::string& member) {
  return line.find(member) != std::string::npos;
}

}  // namespace

TEST_CASE("progress json: a line per phase change, else at most one a second", "[cli][progress]") {
  Harness h;
  h.writer.update(at(ProgressPhase::open, 0));
  REQUIRE(h.lines.size() == 1);  // the start line
  CHECK(h.lines[0].starts_with("{\"schema_version\":1,\"phase\":\"open\",\"elapsed\":0.000,"));
  CHECK(h.lines[0].ends_with("}\n"));
  h.now = 0.01;
  h.writer.update(at(ProgressPhase::copy, 0));
  REQUIRE(h.lines.size() == 2);  // a new phase: at once
  CHECK(has(h.lines[1], "\"phase\":\"copy\""));
  for (int i = 1; i <= 9; ++i) {  // ten chunks within the second: no line
    h.now = 0.01 + 0.1 * i;
    h.writer.update(at(ProgressPhase::copy, static_cast<std::uint64_t>(i) << 20,
                       static_cast<std::uint64_t>(i) << 21));
  }
  CHECK(h.lines.size() == 2);
  h.now = 1.02;
  h.writer.update(at(ProgressPhase::copy, 10ull << 20, 20ull << 20));
  REQUIRE(h.lines.size() == 3);
  CHECK(has(h.lines[2], "\"elapsed\":1.020,"));
  CHECK(has(h.lines[2], "\"done_bytes\":20971520,"));
  h.now = 1.05;
  h.writer.update(at(ProgressPhase::finish, 40ull << 20, 100ull << 20));
  REQUIRE(h.lines.size() == 4);  // a phase change does not wait for the second
  CHECK(has(h.lines[3], "\"phase\":\"finish\""));
  h.now = 1.06;
  h.writer.update(at(ProgressPhase::done, 40ull << 20, 100ull << 20));
  CHECK(h.lines.size() == 4);  // done is said by the final line
}

TEST_CASE("progress json: rate over a recent window, ETA by data still to read",
          "[cli][progress]") {
  Harness h;
  h.writer.update(at(ProgressPhase::copy, 0, 0));
  // 1 MiB/s for 10 s, with zero runs making the virtual progress 5x faster.
  for (int s = 1; s <= 10; ++s) {
    h.now = s;
    h.writer.update(at(ProgressPhase::copy, static_cast<std::uint64_t>(s) << 20,
                       static_cast<std::uint64_t>(s) * (std::uint64_t{5} << 20)));
  }
  REQUIRE(h.lines.size() == 11);
  // At 10 s: 10 MiB read of 40 MiB of data at 1 MiB/s: 30 s left (not (100-50)/5 = 10 s).
  CHECK(has(h.lines.back(), "\"rate\":1048576,"));
  CHECK(has(h.lines.back(), "\"eta\":30}"));
  CHECK(has(h.lines.back(), "\"data_total_bytes\":41943040,"));
  // Then 4 MiB/s: the window (5 s) forgets the slow start within 5 s.
  for (int s = 11; s <= 15; ++s) {
    h.now = s;
    h.writer.update(
        at(ProgressPhase::copy, (10ull << 20) + (static_cast<std::uint64_t>(s - 10) << 22), 0));
  }
  // 30 MiB read at 15 s; the window from 10 s: 20 MiB in 5 s.
  CHECK(has(h.lines.back(), "\"rate\":4194304,"));
  CHECK(has(h.lines.back(), "\"eta\":3}"));  // 10 MiB left at 4 MiB/s: 2.5 s, rounded up
}

TEST_CASE("progress json: an unknown total or data total is null, and so is the ETA",
          "[cli][progress]") {
  Harness h;
  Progress p;
  p.phase = ProgressPhase::copy;
  p.read_bytes = 1 << 20;
  h.writer.update(p);
  REQUIRE(h.lines.size() == 1);
  CHECK(has(h.lines[0], "\"total_bytes\":null,"));
  CHECK(has(h.lines[0], "\"data_total_bytes\":null,"));
  CHECK(has(h.lines[0], "\"eta\":null}"));
  CHECK(vdconvert::data_eta_seconds(p, 1e6) == std::nullopt);
  p.data_total_bytes = 1 << 20;
  CHECK(vdconvert::data_eta_seconds(p, 0) == 0.0);  // all read
}

TEST_CASE("progress json: the final line is last and carries the result", "[cli][progress]") {
  Harness h;
  h.writer.update(at(ProgressPhase::copy, 1 << 20, 2 << 20));
  h.now = 2.5;
  vdisk::Properties report;
  report.add("output", "https://acct.blob.core.windows.net/c/d.vhd?sv=1&sig=SECRETSIG");
  h.writer.finish_ok(report);
  REQUIRE(h.lines.size() == 2);
  const std::string& last = h.lines.back();
  CHECK(has(last, "\"phase\":\"done\",\"elapsed\":2.500,"));
  CHECK(has(last, "\"read_bytes\":1048576,"));  // the counters of the last report
  CHECK(has(last, ",\"final\":true,\"result\":\"ok\",\"exit_code\":0,\"report\":{\"output\":"));
  CHECK_FALSE(has(last, "SECRETSIG"));
  CHECK(has(last, "REDACTED"));
  CHECK(last.ends_with("}}\n"));
  // Nothing after the final line.
  h.writer.update(at(ProgressPhase::copy, 3 << 20, 4 << 20));
  h.writer.finish_error("late", 3);
  CHECK(h.lines.size() == 2);
  CHECK(h.writer.finished());
}

TEST_CASE("progress json: a failure's final line has the message and exit code, redacted",
          "[cli][progress]") {
  Harness h;
  Progress p;
  p.sent_bytes = 100;
  p.retries = 1;
  h.writer.update(p);
  h.writer.upload_counters(50, 3);  // after the failure: more retries, never fewer bytes
  h.writer.finish_error(
      "upload to https://a.blob.core.windows.net/c/b?sig=TOPSECRET: \"quoted\" 403", 3);
  REQUIRE(h.lines.size() == 2);
  const std::string& last = h.lines[1];
  CHECK(has(last, "\"sent_bytes\":100,\"retries\":3,"));
  CHECK(has(last, "\"result\":\"error\",\"exit_code\":3,\"message\":\"upload to https://"));
  CHECK(has(last, "\\\"quoted\\\" 403\"}"));
  CHECK_FALSE(has(last, "TOPSECRET"));
}

TEST_CASE("progress json: a failure before any report still gets its final line",
          "[cli][progress]") {
  Harness h;
  h.writer.finish_error("DST: exists", 1);
  REQUIRE(h.lines.size() == 1);
  CHECK(has(h.lines[0], "\"phase\":\"done\","));
  CHECK(has(h.lines[0], "\"total_bytes\":null,"));
  CHECK(h.lines[0].ends_with(",\"exit_code\":1,\"message\":\"DST: exists\"}\n"));
}

TEST_CASE("progress json: strings in a JSON text are redacted, the rest kept", "[cli][progress]") {
  CHECK(vdconvert::redact_json_strings(R"({"a":"x","b":["https://h/p?sig=S"],"c":1})") ==
        R"({"a":"x","b":["https://h/p?sig=REDACTED"],"c":1})");
  CHECK(vdconvert::redact_json_strings(R"({"a":"q\"?","n":2})") == R"({"a":"q\"?","n":2})");
}

TEST_CASE("progress bar: the ETA counts data still to read, not zero runs", "[cli][progress]") {
  Progress p;
  p.total_bytes = 1ull << 30;
  p.done_bytes = 512ull << 20;  // 512 MiB in 4 s, mostly zero runs
  p.data_total_bytes = 64ull << 20;
  p.read_bytes = 32ull << 20;  // 8 MiB/s of data: 32 MiB left = 4 s
  CHECK(vdconvert::format_progress(p, 4.0) == "512 MiB / 1.00 GiB   50%  128 MiB/s  ETA 0:04");
  p.read_bytes = 16ull << 20;  // 4 MiB/s: 48 MiB left = 12 s (by virtual bytes it would be 4 s)
  CHECK(vdconvert::format_progress(p, 4.0) == "512 MiB / 1.00 GiB   50%  128 MiB/s  ETA 0:12");
}

TEST_CASE("cli: --progress[=FORMAT]", "[cli][parse][progress]") {
  {
    auto r = parse({"convert", "--to", "vhd", "--progress=json", "a", "b"});
    const auto& a = args_of<ConvertArgs>(r);
    CHECK(a.progress == ProgressMode::json);
    CHECK(a.progress_fd == 2);
  }
  {
    auto r = parse({"convert", "--to", "vhd", "--progress=json:3", "a", "b"});
    const auto& a = args_of<ConvertArgs>(r);
    CHECK(a.progress == ProgressMode::json);
    CHECK(a.progress_fd == 3);
  }
  for (const auto* bar : {"--progress", "--progress=bar", "-p"}) {
    auto r = parse({"convert", "--to", "vhd", bar, "a", "b"});
    CHECK(args_of<ConvertArgs>(r).progress == ProgressMode::always);
  }
  // The value is attached only: the next word stays an operand.
  {
    auto r = parse({"convert", "--to", "vhd", "--progress", "json", "b"});
    const auto& a = args_of<ConvertArgs>(r);
    CHECK(a.progress == ProgressMode::always);
    CHECK(a.operands == std::vector<std::string>{"json", "b"});
  }
  require_error({"convert", "--to", "vhd", "--progress=xml", "a", "b"},
                "--progress=xml: unknown progress format (known: bar, json, json:FD)");
  require_error({"convert", "--to", "vhd", "--progress=json:x", "a", "b"},
                "'x' is not a file descriptor number");
  require_error({"convert", "--to", "vhd", "--progress=json:", "a", "b"},
                "is not a file descriptor number");
  require_error({"convert", "--to", "vhd", "--progress=", "a", "b"}, "needs a non-empty value");
  require_error({"convert", "--to", "vhd", "--progress=json", "-q", "a", "b"},
                "cannot be used together");
  require_error({"convert", "--to", "vhd", "-q", "--progress=json", "a", "b"},
                "cannot be used together");
}
