// The hardware floors of bench/compare_all.py: what ISA-L alone does with the data of a
// conversion on N threads, with no container format, no ordering and no output file, so that
// the end-to-end figures can be set against it in the same run. Linked against ISA-L (and
// libdeflate for the VMDK writer's floor) only, not libvdisk, so the floor cannot inherit a
// slowness of ours.
//
//   floor deflate FILE THREADS LEVEL   1 MiB chunks of FILE (mmap) deflated raw by ISA-L at
//                                      LEVEL (0-3), chunks handed out round robin; prints the
//                                      seconds, MiB/s and the compressed total
//   floor inflate-vmdk FILE THREADS    every grain of a streamOptimized VMDK (the markers walked as
//                                      in VMware's Virtual Disk Format 1.1: u64 LBA, u32 size,
//                                      data; size 0 is a metadata marker whose sector count
//                                      follows) inflated (zlib wrapper) by ISA-L; prints seconds
//                                      and MiB/s out
//   floor deflate-grains FILE THREADS LEVEL
//                                      every non-zero 64 KiB grain of FILE compressed as one zlib
//                                      stream by libdeflate at LEVEL, as the streamOptimized VMDK
//                                      writer's default does (its engine table:
//                                      libvdisk/src/formats/vmdk/vmdk_write_stream.cpp); only when built
//                                      with libdeflate
//
// Output: one line "seconds=S in_bytes=I out_bytes=O" for the harness to parse.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <isa-l/igzip_lib.h>
#ifdef VDISK_FLOOR_LIBDEFLATE
#include <libdeflate.h>
#endif

namespace {

struct Mapped {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

Mapped map_file(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::perror(path);
    std::exit(1);
  }
  Mapped m;
  m.size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  ::close(fd);
  m.data = static_cast<const std::uint8_t*>(p);
  return m;
}

std::uint32_t level_buf_size(int level) {
  switch (level) {
    case 0:
      return 0;
    case 1:
      return ISAL_DEF_LVL1_DEFAULT;
    case 2:
      return ISAL_DEF_LVL2_DEFAULT;
    default:
      return ISAL_DEF_LVL3_DEFAULT;
  }
}

int report(double secs, std::size_t in_bytes, std::uint64_t out_bytes) {
  std::printf("seconds=%.3f in_bytes=%zu out_bytes=%llu\n", secs, in_bytes,
              static_cast<unsigned long long>(out_bytes));
  return 0;
}

template <class Work>
double run_threads(int threads, Work work) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int deflate_floor(const Mapped& in, int threads, int level) {
  constexpr std::size_t kChunk = 1u << 20;
  const std::size_t chunks = (in.size + kChunk - 1) / kChunk;
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> out_total{0};
  const double secs = run_threads(threads, [&](int) {
    std::vector<std::uint8_t> out(kChunk + kChunk / 8 + 4096);
    std::vector<std::uint8_t> lvl(level_buf_size(level));
    std::uint64_t mine = 0;
    for (std::size_t c; (c = next.fetch_add(1)) < chunks;) {
      isal_zstream s;
      isal_deflate_init(&s);
      s.level = static_cast<std::uint32_t>(level);
      s.level_buf = lvl.empty() ? nullptr : lvl.data();
      s.level_buf_size = static_cast<std::uint32_t>(lvl.size());
      s.end_of_stream = 1;
      s.flush = NO_FLUSH;
      s.next_in = const_cast<std::uint8_t*>(in.data + c * kChunk);
      s.avail_in = static_cast<std::uint32_t>(std::min(kChunk, in.size - c * kChunk));
      s.next_out = out.data();
      s.avail_out = static_cast<std::uint32_t>(out.size());
      if (isal_deflate(&s) != COMP_OK || s.internal_state.state != ZSTATE_END) {
        std::fprintf(stderr, "isal_deflate failed at chunk %zu\n", c);
        std::exit(1);
      }
      mine += s.total_out;
    }
    out_total += mine;
  });
  return report(secs, in.size, out_total.load());
}

std::uint64_t le(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

int inflate_vmdk_floor(const Mapped& in, int threads) {
  // The sparse extent header (Virtual Disk Format 1.1): "KDMV", grainSize at 20 and overHead
  // at 64 (both in sectors).
  if (in.size < 512 || std::memcmp(in.data, "KDMV", 4) != 0) {
    std::fprintf(stderr, "not a sparse VMDK\n");
    return 1;
  }
  const std::uint64_t grain_bytes = le(in.data + 20, 8) * 512;
  std::uint64_t at = le(in.data + 64, 8) * 512;
  struct Grain {
    const std::uint8_t* data;
    std::uint32_t size;
  };
  std::vector<Grain> grains;
  while (at + 512 <= in.size) {
    const std::uint32_t size = static_cast<std::uint32_t>(le(in.data + at + 8, 4));
    if (size != 0) {
      if (at + 12 + size > in.size) break;
      grains.push_back({in.data + at + 12, size});
      at += (12 + size + 511) / 512 * 512;
      continue;
    }
    const std::uint64_t sectors = le(in.data + at, 8);
    const std::uint32_t type = static_cast<std::uint32_t>(le(in.data + at + 12, 4));
    if (type == 0) break;  // end of stream
    at += 512 + sectors * 512;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> out_total{0};
  const double secs = run_threads(threads, [&](int) {
    std::vector<std::uint8_t> out(grain_bytes);
    std::uint64_t mine = 0;
    inflate_state st;
    for (std::size_t g; (g = next.fetch_add(1)) < grains.size();) {
      isal_inflate_init(&st);
      st.crc_flag = ISAL_ZLIB;
      st.next_in = const_cast<std::uint8_t*>(grains[g].data);
      st.avail_in = grains[g].size;
      st.next_out = out.data();
      st.avail_out = static_cast<std::uint32_t>(out.size());
      if (isal_inflate(&st) != ISAL_DECOMP_OK) {
        std::fprintf(stderr, "isal_inflate failed at grain %zu\n", g);
        std::exit(1);
      }
      mine += st.total_out;
    }
    out_total += mine;
  });
  return report(secs, in.size, out_total.load());
}

#ifdef VDISK_FLOOR_LIBDEFLATE
int deflate_grains_floor(const Mapped& in, int threads, int level) {
  constexpr std::size_t kGrain = 64u << 10;
  const std::size_t grains = (in.size + kGrain - 1) / kGrain;
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> out_total{0};
  const double secs = run_threads(threads, [&](int) {
    libdeflate_compressor* c = libdeflate_alloc_compressor(level);
    if (c == nullptr) {
      std::fprintf(stderr, "libdeflate level %d unavailable\n", level);
      std::exit(1);
    }
    std::vector<std::uint8_t> out(libdeflate_zlib_compress_bound(c, kGrain));
    std::uint64_t mine = 0;
    for (std::size_t g; (g = next.fetch_add(1)) < grains;) {
      const std::uint8_t* p = in.data + g * kGrain;
      const std::size_t n = std::min(kGrain, in.size - g * kGrain);
      // The writer leaves zero grains out (a grain table entry of 0); so does its floor.
      if (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0) continue;
      const std::size_t z = libdeflate_zlib_compress(c, p, n, out.data(), out.size());
      if (z == 0) {
        std::fprintf(stderr, "libdeflate failed at grain %zu\n", g);
        std::exit(1);
      }
      mine += z;
    }
    libdeflate_free_compressor(c);
    out_total += mine;
  });
  return report(secs, in.size, out_total.load());
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "deflate" && argc == 5)
    return deflate_floor(map_file(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]));
  if (mode == "inflate-vmdk" && argc == 4)
    return inflate_vmdk_floor(map_file(argv[2]), std::atoi(argv[3]));
#ifdef VDISK_FLOOR_LIBDEFLATE
  if (mode == "deflate-grains" && argc == 5)
    return deflate_grains_floor(map_file(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]));
#endif
  std::fprintf(stderr,
               "usage: floor deflate FILE THREADS LEVEL | floor inflate-vmdk FILE THREADS | "
               "floor deflate-grains FILE THREADS LEVEL\n");
  return 2;
}
