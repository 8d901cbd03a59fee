// Component benchmarks: zero detection and the copy pipeline into a sink that discards (so the
// figures measure libvdisk, not the page cache or a disk).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "base/zero.h"
#include "vdisk/pipeline.h"

namespace {

constexpr std::size_t kMiB = 1 << 20;

std::vector<std::byte> make_disk(std::size_t size, int zero_percent) {
  std::vector<std::byte> d(size);
  std::uint64_t x = 88172645463325252ull;
  const std::size_t block = 64 * 1024;
  for (std::size_t b = 0; b < size / block; ++b) {
    if (static_cast<int>(b * 100 / (size / block)) < zero_percent) continue;  // zero block
    for (std::size_t i = 0; i < block; i += 8) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      std::memcpy(d.data() + b * block + i, &x, 8);
    }
  }
  return d;
}

class MemSource final : public vdisk::BlockSource {
 public:
  explicit MemSource(std::vector<std::byte> d) : d_(std::move(d)) {}
  std::uint64_t size() const override { return d_.size(); }
  vdisk::Status read(std::uint64_t off, std::span<std::byte> dst) const override {
    std::memcpy(dst.data(), d_.data() + off, dst.size());
    return {};
  }
  std::string_view format() const override { return "memory"; }

 private:
  std::vector<std::byte> d_;
};

class NullSink final : public vdisk::BlockSink {
 public:
  vdisk::Status write(std::uint64_t, std::span<const std::byte> d) override {
    benchmark::DoNotOptimize(d.data());
    return {};
  }
  vdisk::Status write_zeroes(std::uint64_t, std::uint64_t) override { return {}; }
  vdisk::Status finish() override { return {}; }
};

void BM_ZeroDetect_AllZero(benchmark::State& state) {
  std::vector<std::byte> buf(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(vdisk::detail::is_zero(buf));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ZeroDetect_AllZero)->Arg(4096)->Arg(64 * 1024)->Arg(4 << 20);

void BM_ZeroDetect_DataAtEnd(benchmark::State& state) {
  std::vector<std::byte> buf(static_cast<std::size_t>(state.range(0)) + 1);
  buf[buf.size() - 1] = std::byte{1};
  for (auto _ : state) benchmark::DoNotOptimize(vdisk::detail::is_zero(buf));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ZeroDetect_DataAtEnd)->Arg(64 * 1024);

// Args: threads, percent of the disk that is zero.
void BM_Pipeline_Copy(benchmark::State& state) {
  MemSource src(make_disk(256 * kMiB, static_cast<int>(state.range(1))));
  vdisk::PipelineOptions o;
  o.threads = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    NullSink sink;
    auto r = vdisk::copy(src, sink, o);
    if (!r.ok()) state.SkipWithError(r.status().to_string().c_str());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(256 * kMiB));
}
BENCHMARK(BM_Pipeline_Copy)
    ->ArgNames({"threads", "zero_pct"})
    ->Args({1, 0})->Args({2, 0})->Args({1, 50})->Args({2, 50})->Args({2, 100})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
