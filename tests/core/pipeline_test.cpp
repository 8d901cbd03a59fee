// Pipeline invariants: ordered, complete, byte-identical for any thread count, bounded memory,
// errors and cancellation returned without deadlock, zero extents never read.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "test_support.h"
#include "vdisk/pipeline.h"

using namespace vdisk;
using vdisk::test::MemorySource;
using vdisk::test::pattern;
using vdisk::test::RecordingSink;

namespace {

constexpr std::uint64_t kKiB = 1024, kMiB = 1024 * kKiB;

// 8 MiB: data, an explicit unallocated hole, data with an embedded zero block, zero extent.
std::vector<std::byte> mixed_disk() {
  auto d = pattern(8 * kMiB, 7);
  std::memset(d.data() + 2 * kMiB, 0, 2 * kMiB);                // unallocated in the map
  std::memset(d.data() + 5 * kMiB + 64 * kKiB, 0, 128 * kKiB);  // zero data found by scanning
  std::memset(d.data() + 7 * kMiB, 0, 1 * kMiB);                // zero extent in the map
  return d;
}
std::vector<Extent> mixed_map() {
  return {{0, 2 * kMiB, ExtentKind::data},
          {2 * kMiB, 2 * kMiB, ExtentKind::unallocated},
          {4 * kMiB, 3 * kMiB, ExtentKind::data},
          {7 * kMiB, 1 * kMiB, ExtentKind::zero}};
}

PipelineOptions small_chunks(unsigned threads) {
  PipelineOptions o;
  o.threads = threads;
  o.chunk_bytes = 256 * kKiB;
  o.max_buffers = 3;
  o.zero_block_bytes = 64 * kKiB;
  o.map_window_bytes = 3 * kMiB;  // windows that do not line up with extents
  return o;
}

}  // namespace

TEST_CASE("pipeline: copies every byte in order and finishes the sink", "[pipeline]") {
  MemorySource src(mixed_disk(), mixed_map());
  RecordingSink sink;
  auto stats = copy(src, sink, small_chunks(2));
  REQUIRE(stats.ok());
  CHECK(sink.finished);
  CHECK_FALSE(sink.order_violated);
  CHECK(sink.image == mixed_disk());
  CHECK(stats->virtual_bytes == 8 * kMiB);
}

TEST_CASE("pipeline: sink calls are identical for threads 1 to 8", "[pipeline]") {
  MemorySource src(mixed_disk(), mixed_map());
  RecordingSink reference;
  REQUIRE(copy(src, reference, small_chunks(1)).ok());
  for (unsigned t = 2; t <= 8; ++t) {
    RecordingSink sink;
    REQUIRE(copy(src, sink, small_chunks(t)).ok());
    INFO("threads " << t);
    CHECK(sink.calls == reference.calls);
    CHECK(sink.image == reference.image);
  }
}

TEST_CASE("pipeline: zero and unallocated extents are never read", "[pipeline]") {
  MemorySource src(mixed_disk(), mixed_map());
  RecordingSink sink;
  auto stats = copy(src, sink, small_chunks(2));
  REQUIRE(stats.ok());
  CHECK(src.bytes_read() == 5 * kMiB);  // only the two data extents
  CHECK(stats->read_bytes == 5 * kMiB);
  CHECK(stats->zero_bytes == 3 * kMiB + 128 * kKiB);
  CHECK(stats->data_bytes == 5 * kMiB - 128 * kKiB);
}

TEST_CASE("pipeline: zero blocks inside data reach the sink as zero runs", "[pipeline]") {
  MemorySource src(mixed_disk(), mixed_map());
  RecordingSink sink;
  REQUIRE(copy(src, sink, small_chunks(2)).ok());
  const Extent expected{5 * kMiB + 64 * kKiB, 128 * kKiB, ExtentKind::zero};
  CHECK(std::find(sink.calls.begin(), sink.calls.end(), expected) != sink.calls.end());
}

TEST_CASE("pipeline: zero scanning can be disabled", "[pipeline]") {
  MemorySource src(mixed_disk(), mixed_map());
  RecordingSink sink;
  auto o = small_chunks(2);
  o.zero_block_bytes = 0;
  auto stats = copy(src, sink, o);
  REQUIRE(stats.ok());
  CHECK(stats->data_bytes == 5 * kMiB);
  CHECK(sink.image == mixed_disk());
}

TEST_CASE("pipeline: peak buffers never exceed max_buffers", "[pipeline]") {
  MemorySource src(pattern(16 * kMiB, 3));
  for (unsigned t : {1u, 2u, 4u, 8u}) {
    RecordingSink sink;
    auto o = small_chunks(t);
    o.max_buffers = 2;
    auto stats = copy(src, sink, o);
    REQUIRE(stats.ok());
    CHECK(stats->peak_buffers <= 2);
    CHECK(stats->peak_buffers >= 1);
    CHECK(stats->buffer_bytes == 256 * kKiB);
  }
}

TEST_CASE("pipeline: a read that fails on the n-th call returns that error", "[pipeline]") {
  for (std::uint64_t n : {1u, 2u, 7u, 20u}) {
    for (unsigned t : {1u, 2u, 8u}) {
      MemorySource src(pattern(8 * kMiB, 5));
      src.fail_read(n);
      RecordingSink sink;
      auto stats = copy(src, sink, small_chunks(t));
      INFO("n " << n << " threads " << t);
      REQUIRE_FALSE(stats.ok());
      CHECK(stats.status().code() == Errc::io_error);
      CHECK_FALSE(sink.finished);
    }
  }
}

TEST_CASE("pipeline: a sink that fails on the n-th call returns that error", "[pipeline]") {
  for (std::uint64_t n : {1u, 3u, 10u}) {
    MemorySource src(mixed_disk(), mixed_map());
    RecordingSink sink;
    sink.fail_call(n);
    auto stats = copy(src, sink, small_chunks(2));
    REQUIRE_FALSE(stats.ok());
    CHECK(stats.status().code() == Errc::no_space);
    CHECK_FALSE(sink.finished);
  }
}

TEST_CASE("pipeline: cancellation stops the copy and leaves the sink unfinished", "[pipeline]") {
  MemorySource src(pattern(32 * kMiB, 9));
  RecordingSink sink;
  std::stop_source stop;
  std::atomic<int> chunks{0};
  auto stats = copy(
      src, sink, small_chunks(2),
      [&](const Progress&) {
        if (++chunks == 5) stop.request_stop();
      },
      stop.get_token());
  REQUIRE_FALSE(stats.ok());
  CHECK(stats.status().code() == Errc::cancelled);
  CHECK_FALSE(sink.finished);
  CHECK(sink.image.size() < 32 * kMiB);
}

TEST_CASE("pipeline: a stop requested before the copy cancels at once", "[pipeline]") {
  MemorySource src(pattern(1 * kMiB, 9));
  RecordingSink sink;
  std::stop_source stop;
  stop.request_stop();
  auto stats = copy(src, sink, small_chunks(2), {}, stop.get_token());
  REQUIRE_FALSE(stats.ok());
  CHECK(stats.status().code() == Errc::cancelled);
}

TEST_CASE("pipeline: progress reaches the total and counts data bytes", "[pipeline]") {
  MemorySource src(mixed_disk(), mixed_map());
  RecordingSink sink;
  Progress last;
  std::uint64_t prev = 0;
  bool monotonic = true;
  REQUIRE(copy(src, sink, small_chunks(4), [&](const Progress& p) {
            monotonic = monotonic && p.done_bytes > prev;
            prev = p.done_bytes;
            last = p;
          }).ok());
  CHECK(monotonic);
  CHECK(last.done_bytes == 8 * kMiB);
  CHECK(last.total_bytes == 8 * kMiB);
  CHECK(last.data_bytes == 5 * kMiB - 128 * kKiB);
}

TEST_CASE("pipeline: an empty disk finishes the sink with no calls", "[pipeline]") {
  MemorySource src({});
  RecordingSink sink;
  REQUIRE(copy(src, sink).ok());
  CHECK(sink.finished);
  CHECK(sink.calls.empty());
}

TEST_CASE("pipeline: unusable options are rejected", "[pipeline]") {
  MemorySource src(pattern(4096, 1));
  RecordingSink sink;
  PipelineOptions o;
  o.chunk_bytes = 100;
  CHECK(copy(src, sink, o).status().code() == Errc::invalid_argument);
  o = {};
  o.zero_block_bytes = 100;
  CHECK(copy(src, sink, o).status().code() == Errc::invalid_argument);
  CHECK_FALSE(sink.finished);
}

namespace {
class ChunkedStream final : public StreamSource {
 public:
  explicit ChunkedStream(std::vector<std::byte> d) : d_(std::move(d)) {}
  std::optional<std::uint64_t> size() const override { return std::nullopt; }
  Result<std::size_t> read(std::span<std::byte> dst) override {
    const std::size_t n = std::min(dst.size(), d_.size() - pos_);
    std::memcpy(dst.data(), d_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::string_view format() const override { return "memory-stream"; }

 private:
  std::vector<std::byte> d_;
  std::size_t pos_ = 0;
};
}  // namespace

TEST_CASE("pipeline: streams copy in order with zero detection, any thread count",
          "[pipeline][stream]") {
  auto data = mixed_disk();
  data.resize(data.size() - 1000);  // not a multiple of anything
  RecordingSink reference;
  {
    ChunkedStream s(data);
    auto stats = copy(s, reference, small_chunks(1));
    REQUIRE(stats.ok());
    CHECK(stats->virtual_bytes == data.size());
  }
  CHECK(reference.image == data);
  for (unsigned t : {2u, 5u}) {
    ChunkedStream s(data);
    RecordingSink sink;
    REQUIRE(copy(s, sink, small_chunks(t)).ok());
    CHECK(sink.calls == reference.calls);
  }
}

namespace {

// A sink that keeps what it is lent and reads it only later, from another thread, the way a
// compressing sink does: it checks that the pipeline never reuses a buffer while it is lent.
// It lets a loan go only when later ones come, which the contract forbids in general; with
// fewer held than the pool has buffers the copy still moves.
class HoldingSink final : public BlockSink {
 public:
  explicit HoldingSink(std::size_t hold, std::uint64_t fail_at = 0)
      : hold_(hold), fail_at_(fail_at) {}
  ~HoldingSink() override { release_all(); }

  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    ++plain_writes;
    return record(offset, data);
  }
  Status write_lent(std::uint64_t offset, std::span<const std::byte> data,
                    std::shared_ptr<const void> keep) override {
    if (fail_at_ && ++calls_ == fail_at_) {
      held_.push_back({offset, data, std::move(keep)});  // held past the failed copy
      return no_space("full");
    }
    held_.push_back({offset, data, std::move(keep)});
    // Let the oldest go from another thread once more than `hold_` are held.
    while (held_.size() > hold_) {
      Held h = std::move(held_.front());
      held_.erase(held_.begin());
      std::thread([this, h = std::move(h)]() mutable {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        (void)record(h.offset, h.data);
        h.keep.reset();
      }).join();
    }
    return {};
  }
  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override {
    std::lock_guard lock(m_);
    if (image.size() < offset + length) image.resize(offset + length);
    return {};
  }
  Status finish() override {
    release_all();
    finished = true;
    return {};
  }
  // Reads what is still held (after a failed copy: copy() has returned by now).
  void release_all() {
    for (auto& h : held_) {
      (void)record(h.offset, h.data);
      h.keep.reset();
    }
    held_.clear();
  }

  std::vector<std::byte> image;
  std::size_t plain_writes = 0;
  bool finished = false;

 private:
  struct Held {
    std::uint64_t offset;
    std::span<const std::byte> data;
    std::shared_ptr<const void> keep;
  };
  Status record(std::uint64_t offset, std::span<const std::byte> data) {
    std::lock_guard lock(m_);
    if (image.size() < offset + data.size()) image.resize(offset + data.size());
    std::memcpy(image.data() + offset, data.data(), data.size());
    return {};
  }
  std::size_t hold_;
  std::uint64_t fail_at_;
  std::uint64_t calls_ = 0;
  std::vector<Held> held_;
  std::mutex m_;
};

}  // namespace

TEST_CASE("pipeline: lent buffers are not reused until the sink lets them go", "[pipeline]") {
  const auto disk = mixed_disk();
  for (unsigned t : {1u, 2u, 4u}) {
    for (std::size_t hold : {0u, 1u, 2u}) {  // the pool has 3 buffers
      MemorySource src(disk, mixed_map());
      HoldingSink sink(hold);
      auto stats = copy(src, sink, small_chunks(t));
      INFO("threads " << t << " held " << hold);
      REQUIRE(stats.ok());
      CHECK(sink.finished);
      CHECK(sink.plain_writes == 0);
      CHECK(sink.image == disk);
      CHECK(stats->peak_buffers <= 3);
    }
  }
}

TEST_CASE("pipeline: a sink may hold lent bytes past a failed copy", "[pipeline]") {
  const auto disk = pattern(8 * kMiB, 11);
  for (std::uint64_t n : {1u, 4u, 9u}) {
    MemorySource src(disk);
    HoldingSink sink(2, n);
    auto stats = copy(src, sink, small_chunks(2));
    REQUIRE_FALSE(stats.ok());
    CHECK(stats.status().code() == Errc::no_space);
    // copy() has returned; the held bytes are still readable and unchanged.
    sink.release_all();
    CHECK(std::equal(sink.image.begin(), sink.image.end(), disk.begin()));
  }
}
