// Codec engines (libvdisk/src/codec): pigz-style chunk deflate (1 MiB chunks primed with the
// previous 32 KiB, as the gzip sink runs them) per engine and level, and whole-buffer inflate
// of 64 KiB zlib grains (the VMDK case). Input: the first 16 MiB of the binaries under /usr/bin
// and /usr/lib (about 2:1 compressible, like the data of an OS disk); counters report the
// compressed/uncompressed ratio. Single-threaded: figures are per core.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include <zlib.h>

#include "codec/codec.h"

namespace {

using vdisk::codec::Engine;
constexpr std::size_t kKiB = 1024, kMiB = 1024 * kKiB;

const std::vector<std::byte>& corpus() {
  static const std::vector<std::byte> data = [] {
    std::vector<std::byte> d;
    std::vector<std::filesystem::path> files;
    for (const char* dir : {"/usr/bin", "/usr/lib/x86_64-linux-gnu"}) {
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.is_regular_file(ec) && e.file_size(ec) > 64 * kKiB) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (d.size() >= 16 * kMiB) break;
      std::ifstream in(f, std::ios::binary);
      std::vector<char> buf((std::istreambuf_iterator<char>(in)), {});
      for (char c : buf) d.push_back(static_cast<std::byte>(c));
    }
    d.resize(16 * kMiB, std::byte{0x5a});
    return d;
  }();
  return data;
}

void BM_ChunkDeflate(benchmark::State& state, Engine engine) {
  const int level = static_cast<int>(state.range(0));
  if (!vdisk::codec::engine_available(engine)) {
    state.SkipWithError("engine not compiled in");
    return;
  }
  auto d = vdisk::codec::make_chunk_deflater(engine, level);
  const auto& data = corpus();
  const std::span<const std::byte> all(data);
  vdisk::codec::OutputBuffer out;
  std::size_t compressed = 0;
  for (auto _ : state) {
    compressed = 0;
    for (std::size_t at = 0; at < data.size(); at += kMiB) {
      out.clear();
      const auto dict = at ? all.subspan(at - 32 * kKiB, 32 * kKiB) : all.first(0);
      if (!(*d)->deflate_chunk(dict, all.subspan(at, kMiB), at + kMiB == data.size(), out).ok())
        state.SkipWithError("deflate failed");
      compressed += out.size();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
  state.counters["ratio"] = static_cast<double>(compressed) / static_cast<double>(data.size());
}

void BM_InflateGrain(benchmark::State& state, Engine engine) {
  if (!vdisk::codec::engine_available(engine)) {
    state.SkipWithError("engine not compiled in");
    return;
  }
  const auto& data = corpus();
  std::vector<std::vector<std::byte>> grains;
  for (std::size_t at = 0; at < data.size(); at += 64 * kKiB) {
    uLongf n = compressBound(64 * kKiB);
    std::vector<std::byte> g(n);
    compress2(reinterpret_cast<Bytef*>(g.data()), &n,
              reinterpret_cast<const Bytef*>(data.data() + at), 64 * kKiB, 6);
    g.resize(n);
    grains.push_back(std::move(g));
  }
  std::vector<std::byte> out(64 * kKiB);
  for (auto _ : state) {
    for (const auto& g : grains) {
      auto r = vdisk::codec::inflate_zlib_or_raw(engine, g, out);
      if (!r.ok()) state.SkipWithError("inflate failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
}

BENCHMARK_CAPTURE(BM_ChunkDeflate, zlib, Engine::zlib)
    ->DenseRange(1, 9)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ChunkDeflate, isal, Engine::isal)
    ->DenseRange(0, 3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_InflateGrain, zlib, Engine::zlib)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_InflateGrain, isal, Engine::isal)->Unit(benchmark::kMillisecond);

}  // namespace
