// GPT-aware padding of streams: the stream sink writes exactly the bytes the file path's padded
// view reads (same plan, same patches), for any write sizes, zero runs, LBA size and a damaged
// old backup; a stream without a size reports its GPT as stale and passes bytes unchanged.
#include <catch2/catch.hpp>

#include <algorithm>

#include "gpt/gpt_relocate.h"
#include "gpt/gpt_stream.h"
#include "gpt_builder.h"
#include "raw/raw.h"
#include "test_support.h"
#include "vdisk/io.h"

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

// Streams `disk` through the GPT stream sink in `step`-byte writes (zero runs as write_zeroes).
std::vector<std::byte> stream_path(const std::vector<std::byte>& disk, std::optional<std::uint64_t> size,
                                   std::uint64_t padded, std::size_t step, gpt::Analysis* analysis) {
  std::vector<std::byte> out;
  auto sink = gpt::make_gpt_stream_sink(raw::make_sink(memory_sink(&out)), size, padded);
  for (std::size_t at = 0; at < disk.size(); at += step) {
    const auto part = std::span(disk).subspan(at, std::min(step, disk.size() - at));
    if (std::all_of(part.begin(), part.end(), [](std::byte b) { return b == std::byte{0}; }))
      REQUIRE(sink->write_zeroes(at, part.size()).ok());
    else
      REQUIRE(sink->write(at, part).ok());
  }
  REQUIRE(sink->finish().ok());
  *analysis = sink->analysis();
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
  CHECK(got == plain);  // the wrapped sink pads on its own
  // A stream shorter than 8 KiB.
  std::vector<std::byte> tiny = pattern(3000, 5);
  got = stream_path(tiny, tiny.size(), kMiB, 512, &a);
  CHECK(a.outcome == Outcome::absent);
  CHECK(got == tiny);
}

TEST_CASE("gpt stream: without a size a GPT is reported stale, bytes unchanged", "[gpt]") {
  const auto disk = make_gpt_disk(spec_of(4 * kMiB + 7 * 512, 512));
  gpt::Analysis a;
  const auto got = stream_path(disk, std::nullopt, 0, 65536, &a);
  CHECK(a.outcome == Outcome::stale);
  CHECK_THAT(a.message, Catch::Contains("NOT moved"));
  CHECK(got == disk);
}

}  // namespace vdisk::test
