// AlignedStager: what each ZeroUnits mode queues for a sequential output of data and zero runs
// (aligned and not), checked against the bytes written.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <random>
#include <vector>

#include "http/aligned_stager.h"
#include "http/upload_pool.h"

using namespace vdisk;
using namespace vdisk::http;

namespace {

struct Sent {
  std::uint64_t offset = 0;
  std::vector<std::byte> bytes;  // zeros for a zero job
  bool zeros = false;
};

// Writes `ops` (size > 0: that many data bytes of value `fill`; fill 0: a zero run) through a
// stager of `align`-byte units in `chunk`-byte jobs, then `tail` zeros; returns what was
// queued and the bytes written.
std::pair<std::vector<Sent>, std::vector<std::byte>> stage(
    ZeroUnits mode, std::uint64_t align, std::size_t chunk,
    const std::vector<std::pair<std::size_t, std::uint8_t>>& ops) {
  std::mutex mu;
  std::vector<Sent> sent;
  std::vector<std::byte> written;
  {
    UploadPool pool(2, 3, chunk, [&](std::size_t, UploadJob& job) {
      Sent s;
      s.offset = job.tag;
      s.zeros = job.zeros;
      s.bytes = job.zeros ? std::vector<std::byte>(job.size)
                          : std::vector<std::byte>(
                                job.data.begin(),
                                job.data.begin() + static_cast<std::ptrdiff_t>(job.size));
      std::lock_guard lock(mu);
      sent.push_back(std::move(s));
      return Status();
    });
    AlignedStager st(pool, align, chunk, mode);
    for (const auto& [n, fill] : ops) {
      if (fill) {
        std::vector<std::byte> d(n, std::byte{fill});
        REQUIRE(st.write(d).ok());
      } else {
        REQUIRE(st.write_zeroes(n).ok());
      }
      written.insert(written.end(), n, std::byte{fill});
    }
    UploadJob last = st.take_last();
    if (last.size) REQUIRE(pool.submit(std::move(last)).ok());
    REQUIRE(pool.drain().ok());
  }
  std::sort(sent.begin(), sent.end(),
            [](const Sent& a, const Sent& b) { return a.offset < b.offset; });
  return {sent, written};
}

}  // namespace

TEST_CASE("aligned stager: send puts every unit once, zero runs as zero jobs", "[http]") {
  const std::uint64_t align = 512;
  const std::size_t chunk = 2048;
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::pair<std::size_t, std::uint8_t>> ops;
    std::size_t total = 0;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const std::size_t len = 1 + rng() % 5000;
      const bool data = rng() % 2 == 0;
      ops.emplace_back(len, data ? static_cast<std::uint8_t>(1 + rng() % 200) : 0);
      total += len;
    }
    // The caller ends on a unit boundary (the EBS sink pads to its whole volume).
    if (total % align) {
      ops.emplace_back(align - total % align, 0);
      total += align - total % align;
    }
    INFO("round " << round);
    const auto [sent, written] = stage(ZeroUnits::send, align, chunk, ops);
    // Contiguous from 0 to the end, every job within a chunk and unit-aligned, each byte as
    // written; a zero job covers only zeros.
    std::uint64_t at = 0;
    for (const Sent& s : sent) {
      REQUIRE(s.offset == at);
      REQUIRE(s.offset % align == 0);
      REQUIRE(s.bytes.size() % align == 0);
      REQUIRE(s.bytes.size() <= chunk);
      REQUIRE(std::equal(s.bytes.begin(), s.bytes.end(),
                         written.begin() + static_cast<std::ptrdiff_t>(s.offset)));
      at += s.bytes.size();
    }
    REQUIRE(at == total);
  }
  // A long zero run becomes chunk-sized zero jobs (sent in parallel), no data buffer used.
  const auto [sent, written] =
      stage(ZeroUnits::send, align, chunk, {{100, 9}, {10000, 0}, {140, 0}});
  REQUIRE(sent.size() == 7);   // 0-512 data; 4 of 2048 and 1 of 1024; 9728-10240 (the 140)
  CHECK_FALSE(sent[0].zeros);  // the data's unit, padded with the run's zeros
  CHECK(sent[0].bytes.size() == 512);
  for (std::size_t i = 1; i < sent.size(); ++i) CHECK(sent[i].zeros);
  CHECK(sent[1].bytes.size() == chunk);
  CHECK(sent.back().offset + sent.back().bytes.size() == 10240);
}

TEST_CASE("aligned stager: skip sends only the units data reaches", "[http]") {
  const auto [sent, written] =
      stage(ZeroUnits::skip, 512, 2048, {{100, 9}, {10000, 0}, {600, 3}, {324, 0}});
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].offset == 0);
  CHECK(sent[0].bytes.size() == 512);
  CHECK(sent[1].offset == 9728);  // the unit holding offset 10100, its head zeros
  CHECK(sent[1].bytes.size() == 1024);
  for (const Sent& s : sent) {
    CHECK_FALSE(s.zeros);
    CHECK(std::equal(s.bytes.begin(), s.bytes.end(),
                     written.begin() + static_cast<std::ptrdiff_t>(s.offset)));
  }
}
