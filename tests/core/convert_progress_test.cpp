// What convert() tells its ProgressFn (image/convert_progress.h, vdisk/image.h): the phases in
// order, the counters, the heartbeat, an upload's counters, calls that never overlap.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "image/convert_progress.h"
#include "test_support.h"
#include "vdisk/image.h"

using namespace vdisk;
using vdisk::test::pattern;
using vdisk::test::TempDir;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;

// A destination that is never opened: only its stats() are read.
class FakeRemote final : public RemoteOutput {
 public:
  const std::string& display_name() const override { return name_; }
  const DestinationCaps& caps() const override { return caps_; }
  Status validate() const override { return {}; }
  Result<std::unique_ptr<ByteSink>> open(std::optional<std::uint64_t>, std::stop_token) override {
    return unsupported("fake");
  }
  UploadStats stats() const override {
    UploadStats s;
    s.bytes_sent = sent.load();
    s.retries = retries.load();
    return s;
  }
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> retries{0};

 private:
  std::string name_ = "fake";
  DestinationCaps caps_{};
};

}  // namespace

TEST_CASE("convert progress: phases in order, final counters, calls never overlap",
          "[convert][progress]") {
  TempDir dir;
  // 8 MiB: 3 MiB of data, then zeros (written as data: the zero scan finds them).
  auto data = pattern(3 * kMiB, 7);
  data.resize(8 * kMiB);
  vdisk::test::write_file(dir / "in.raw", data);
  ConvertOptions o;
  o.target = "vhd";
  o.pipeline.chunk_bytes = 1 * kMiB;
  o.pipeline.threads = 3;
  std::vector<Progress> seen;
  std::atomic<int> inside{0};
  bool overlapped = false;
  o.on_progress = [&](const Progress& p) {
    if (inside.fetch_add(1) != 0) overlapped = true;
    seen.push_back(p);
    inside.fetch_sub(1);
  };
  auto r = convert({dir / "in.raw"}, {dir / "out.vhd"}, o);
  REQUIRE(r.ok());
  CHECK_FALSE(overlapped);
  REQUIRE(seen.size() >= 4);
  std::vector<ProgressPhase> phases;
  for (const auto& p : seen)
    if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
  CHECK(phases == std::vector<ProgressPhase>{ProgressPhase::open, ProgressPhase::copy,
                                             ProgressPhase::finish, ProgressPhase::done});
  for (std::size_t i = 1; i < seen.size(); ++i) {
    if (seen[i].phase != ProgressPhase::copy) continue;
    CHECK(seen[i].done_bytes >= seen[i - 1].done_bytes);
    CHECK(seen[i].read_bytes >= seen[i - 1].read_bytes);
  }
  const Progress& last = seen.back();
  CHECK(last.phase == ProgressPhase::done);
  CHECK(last.total_bytes == r->output_size);
  CHECK(last.done_bytes == r->stats.virtual_bytes);
  CHECK(last.data_bytes == r->stats.data_bytes);
  CHECK(last.zero_bytes == r->stats.zero_bytes);
  CHECK(last.read_bytes == r->stats.read_bytes);
  CHECK(last.data_total_bytes == 8 * kMiB);  // the map: all data (the pipeline finds the zeros)
  CHECK(last.data_bytes == 3 * kMiB);
  CHECK(last.written_bytes == r->output_bytes);
  CHECK(last.sent_bytes == 0);
  CHECK(last.retries == 0);
  CHECK(progress_phase_name(ProgressPhase::finish) == "finish");
}

TEST_CASE("convert progress: a failed conversion has no done report", "[convert][progress]") {
  TempDir dir;
  vdisk::test::write_file(dir / "in.raw", pattern(kMiB, 1));
  vdisk::test::write_file(dir / "out.raw", pattern(10, 1));
  ConvertOptions o;
  std::vector<ProgressPhase> phases;
  o.on_progress = [&](const Progress& p) { phases.push_back(p.phase); };
  auto r = convert({dir / "in.raw"}, {dir / "out.raw"}, o);  // exists, no overwrite
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(phases.empty());
  CHECK(phases.front() == ProgressPhase::open);
  for (const auto ph : phases) CHECK(ph != ProgressPhase::done);
}

TEST_CASE("convert progress: the heartbeat repeats the last report with fresh counters",
          "[convert][progress]") {
  FakeRemote remote;
  std::mutex mu;
  std::vector<Progress> seen;
  {
    detail::ProgressTracker t(
        [&](const Progress& p) {
          const std::lock_guard lock(mu);
          seen.push_back(p);
        },
        &remote, std::chrono::milliseconds(20));
    t.set_totals(100, 40);
    t.enter(ProgressPhase::finish);
    remote.sent = 12345;
    remote.retries = 2;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      {
        const std::lock_guard lock(mu);
        if (seen.size() >= 3 || std::chrono::steady_clock::now() > deadline) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }  // joins the heartbeat
  REQUIRE(seen.size() >= 3);
  CHECK(seen[0].phase == ProgressPhase::finish);
  CHECK(seen[0].sent_bytes == 0);
  const Progress& beat = seen.back();
  CHECK(beat.phase == ProgressPhase::finish);
  CHECK(beat.total_bytes == 100);
  CHECK(beat.data_total_bytes == 40);
  CHECK(beat.sent_bytes == 12345);
  CHECK(beat.retries == 2);
}

TEST_CASE("convert progress: without a function nothing is tracked", "[convert][progress]") {
  detail::ProgressTracker t({}, nullptr);
  CHECK_FALSE(t.enabled());
  CHECK_FALSE(t.pipeline_fn());
  std::vector<std::byte> out;
  auto sink = memory_sink(&out);
  const ByteSink* raw = sink.get();
  CHECK(t.count(std::move(sink)).get() == raw);  // not wrapped
}

TEST_CASE("convert progress: written bytes count appends and in-place writes",
          "[convert][progress]") {
  std::vector<Progress> seen;
  detail::ProgressTracker t([&](const Progress& p) { seen.push_back(p); }, nullptr,
                            std::chrono::milliseconds(60000));
  std::vector<std::byte> out;
  auto sink = t.count(memory_sink(&out));
  const std::vector<std::byte> ten(10, std::byte{1});
  REQUIRE(sink->write(ten).ok());
  REQUIRE(sink->write_zeroes(6).ok());
  t.enter(ProgressPhase::copy);
  CHECK(seen.back().written_bytes == 16);
  if (sink->can_write_at()) {
    REQUIRE(sink->write_at(100, ten).ok());
    t.enter(ProgressPhase::finish);
    CHECK(seen.back().written_bytes == 26);
    REQUIRE(sink->extend_to(200).ok());
  }
  REQUIRE(sink->finish().ok());
  t.enter(ProgressPhase::done);
  CHECK(seen.back().written_bytes == sink->position());
}

TEST_CASE("convert progress: reporting changes nothing in the report", "[convert][progress]") {
  TempDir dir;
  // Data, allocated zeros the zero scan finds, and a hole.
  auto data = pattern(2 * kMiB, 9);
  data.resize(5 * kMiB);
  const auto tail = pattern(kMiB, 4);
  data.insert(data.end(), tail.begin(), tail.end());
  data.resize(9 * kMiB);
  vdisk::test::write_file(dir / "in.raw", data);
  for (const char* target : {"gcp", "azure"}) {
    INFO(target);
    ConvertReport reports[2];
    std::size_t calls = 0;
    for (int with = 0; with < 2; ++with) {
      ConvertOptions o;
      o.target = target;
      o.output.detect_zeroes = std::string_view(target) == "gcp";
      o.output.timestamp_unix = 1700000000;
      if (with) o.on_progress = [&](const Progress&) { ++calls; };
      const auto name =
          fmt::format("out{}{}", with, std::string_view(target) == "gcp" ? ".tar.gz" : ".vhd");
      auto r = convert({dir / "in.raw"}, {dir / name}, o);
      REQUIRE(r.ok());
      reports[with] = *r;
    }
    CHECK(calls > 0);
    CHECK(reports[1].gpt.action == reports[0].gpt.action);
    CHECK(reports[1].zero_scan_read_bytes == reports[0].zero_scan_read_bytes);
    CHECK(reports[1].zero_scan_data_bytes == reports[0].zero_scan_data_bytes);
    CHECK(reports[1].stats.data_bytes == reports[0].stats.data_bytes);
    CHECK(reports[1].output_bytes == reports[0].output_bytes);
    CHECK(reports[1].output_size == reports[0].output_size);
    if (std::string_view(target) == "gcp") {
      CHECK(reports[1].zero_scan_read_bytes > 0);
      CHECK(reports[1].zero_scan_data_bytes == 3 * kMiB);
    } else {
      CHECK(reports[1].gpt.action != GptReport::Action::not_checked);  // padded: looked for
    }
  }
}
