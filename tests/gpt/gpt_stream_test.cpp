// GPT-aware padding of streams: the stream view gives exactly the bytes the file path's padded
// view reads (same plan, same patches), for any run sizes, zero runs, LBA size and a damaged
// old backup, through next() (the copy pipeline) and read(); a stream without a size reports its
// GPT as stale and passes bytes unchanged, then pads.
#include <catch2/catch.hpp>

#include <algorithm>

#include "gpt/gpt_relocate.h"
#include "gpt/gpt_stream.h"
#include "gpt_builder.h"
#include "formats/raw/raw.h"
#include "test_support.h"
#include "vdisk/io.h"
#include "vdisk/pipeline.h"

namespace vdisk::test {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
using Outcome = gpt::Analysis::Outcome;

GptSpec spec_of(std::uint64_t size, std::uint64_t lba) {
  GptSpec s;
  s.size = size;
  s.lba_size = lba;
  s.first_usable = lba == 512 ? 2048 : 256;
  const std::uint64_t f = s.first_usable;
  s.parts = {{f, f + 100}, {f + 101, size / lba - 40}};
  return s;
}

// What the file path gives: the relocated view of `disk` padded to `padded`, read whole.
std::vector<std::byte> file_path(const std::vector<std::byte>& disk, std::uint64_t padded,
                                 gpt::Analysis* analysis) {
  MemorySource src(disk);
  auto a = gpt::plan_relocation(src, padded);
  REQUIRE(a.ok());
  *analysis = *a;
  std::vector<std::byte> out(static_cast<std::size_t>(padded));
  auto view = gpt::relocated_source(src, padded, a->relocation.patches);
  REQUIRE(view.ok());
  REQUIRE((*view)->read(0, out).ok());
  return out;
}

// A stream of `disk` in `step`-byte runs; all-zero runs are reported as zero runs.
class StepStream final : public StreamSource {
 public:
  StepStream(const std::vector<std::byte>& d, std::optional<std::uint64_t> size, std::size_t step)
      : d_(d), size_(size), step_(step) {}
  std::optional<std::uint64_t> size() const override { return size_; }
  Result<std::size_t> read(std::span<std::byte> dst) override {
    const std::size_t n = std::min(dst.size(), d_.size() - at_);
    std::copy_n(d_.begin() + static_cast<std::ptrdiff_t>(at_), n, dst.begin());
    at_ += n;
    return n;
  }
  Result<StreamRun> next(std::span<std::byte> dst) override {
    const std::size_t n = std::min({dst.size(), step_, d_.size() - at_});
    if (n == 0) return StreamRun{};
    const auto part = std::span(d_).subspan(at_, n);
    at_ += n;
    if (std::all_of(part.begin(), part.end(), [](std::byte b) { return b == std::byte{0}; }))
      return StreamRun{StreamRun::Kind::zero, n};
    std::copy(part.begin(), part.end(), dst.begin());
    return StreamRun{StreamRun::Kind::data, n};
  }
  std::string_view format() const override { return "step"; }

 private:
  const std::vector<std::byte>& d_;
  std::optional<std::uint64_t> size_;
  std::size_t step_;
  std::size_t at_ = 0;
};

// Streams `disk` through the padded stream view (padded to `padded`, or to the source size
// rounded up to a MiB when `padded` is 0) in `step`-byte runs, copied into a raw sink by the
// pipeline, and again through read() in odd-sized calls; both must agree.
std::vector<std::byte> stream_path(const std::vector<std::byte>& disk,
                                   std::optional<std::uint64_t> size, std::uint64_t padded,
                                   std::size_t step, gpt::Analysis* analysis) {
  const gpt::PadFn pad = [padded](std::uint64_t s) -> Result<std::uint64_t> {
    return padded ? padded : (s + kMiB - 1) / kMiB * kMiB;
  };
  std::vector<std::byte> out;
  {
    StepStream src(disk, size, step);
    auto view = gpt::padded_stream(src, pad, true);
    REQUIRE(view.ok());
    auto sink = raw::make_sink(memory_sink(&out));
    PipelineOptions po;
    po.threads = 2;
    po.chunk_bytes = 64 << 10;
    REQUIRE(copy(**view, *sink, po).ok());
    *analysis = (*view)->analysis();
    CHECK((*view)->source_bytes() == disk.size());
  }
  std::vector<std::byte> by_read;
  {
    StepStream src(disk, size, step);
    auto view = gpt::padded_stream(src, pad, true);
    REQUIRE(view.ok());
    std::vector<std::byte> buf(777);
    for (;;) {
      auto n = (*view)->read(buf);
      REQUIRE(n.ok());
      if (*n == 0) break;
      by_read.insert(by_read.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
  }
  CHECK(by_read == out);
  return out;
}

}  // namespace

TEST_CASE("gpt stream: the same bytes and plan as the file path", "[gpt]") {
  for (std::uint64_t lba : {std::uint64_t{512}, std::uint64_t{4096}}) {
    for (bool damaged_backup : {false, true}) {
      const std::uint64_t size = 4 * kMiB + 7 * lba, padded = 6 * kMiB;
      auto disk = make_gpt_disk(spec_of(size, lba));
      // Damaged: one byte of the old backup array, so its CRC fails and only its header is
      // cleared (the plan says so in its message).
      if (damaged_backup) disk[(size / lba - 2) * lba + 3] ^= std::byte{1};
      gpt::Analysis fa, sa;
      const auto want = file_path(disk, padded, &fa);
      REQUIRE(fa.outcome == Outcome::relocated);
      for (std::size_t step : {std::size_t{1000}, std::size_t{4096}, std::size_t{64 << 10},
                               static_cast<std::size_t>(size)}) {
        DYNAMIC_SECTION("lba " << lba << (damaged_backup ? " damaged" : "") << " step " << step) {
          const auto got = stream_path(disk, size, padded, step, &sa);
          CHECK(sa.outcome == Outcome::relocated);
          CHECK(sa.message == fa.message);
          CHECK(sa.relocation.old_backup_valid == !damaged_backup);
          CHECK(got.size() == want.size());
          CHECK(got == want);
        }
      }
    }
  }
}

TEST_CASE("gpt stream: disks without a GPT and unmoved ends pass through", "[gpt]") {
  std::vector<std::byte> plain = pattern(3 * kMiB + 512, 4);
  gpt::Analysis a;
  auto got = stream_path(plain, plain.size(), 4 * kMiB, 70000, &a);
  CHECK(a.outcome == Outcome::absent);
  REQUIRE(got.size() == 4 * kMiB);  // the view pads with zeros
  CHECK(std::equal(plain.begin(), plain.end(), got.begin()));
  CHECK(std::all_of(got.begin() + static_cast<std::ptrdiff_t>(plain.size()), got.end(),
                    [](std::byte b) { return b == std::byte{0}; }));
  // A stream shorter than 8 KiB.
  std::vector<std::byte> tiny = pattern(3000, 5);
  got = stream_path(tiny, tiny.size(), kMiB, 512, &a);
  CHECK(a.outcome == Outcome::absent);
  REQUIRE(got.size() == kMiB);
  CHECK(std::equal(tiny.begin(), tiny.end(), got.begin()));
}

TEST_CASE("gpt stream: without a size a GPT is reported stale, bytes unchanged", "[gpt]") {
  const auto disk = make_gpt_disk(spec_of(4 * kMiB + 7 * 512, 512));
  gpt::Analysis a;
  const auto got = stream_path(disk, std::nullopt, 0, 65536, &a);
  CHECK(a.outcome == Outcome::stale);
  CHECK_THAT(a.message, Catch::Contains("NOT moved"));
  REQUIRE(got.size() == 5 * kMiB);  // padded at the end, to the next MiB
  CHECK(std::equal(disk.begin(), disk.end(), got.begin()));
}

}  // namespace vdisk::test
