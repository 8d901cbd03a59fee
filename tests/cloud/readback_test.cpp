// WindowDigests and read_back(): digests taken from data and zero runs in any split equal those
// of the same bytes read back whole; a zero window is recognised without hashing; the first
// differing window is the one named, whichever thread finds a difference first; a read failure
// is returned as it is. The ListSnapshotBlocks replies an EBS read-back pages through. And
// convert()'s side of ConvertOptions::verify_upload, over a destination in memory.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "remote/ebs/ebs_client.h"
#include "remote/readback/readback.h"
#include "test_support.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"

using namespace vdisk;
using namespace vdisk::remote;

namespace {

// An object of `size` bytes: random data with zero runs, as a sink could see it.
std::vector<std::byte> make_object(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(size);
  for (std::size_t i = 0; i < size; ++i) {
    const bool zero_run = (i / 3000) % 3 == 1;
    v[i] = zero_run ? std::byte{0} : static_cast<std::byte>(rng() & 0xFF);
  }
  return v;
}

// Feeds `obj` to `d` in pieces of varying size, zero pieces as zero runs.
void feed(WindowDigests& d, std::span<const std::byte> obj, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::size_t at = 0;
  while (at < obj.size()) {
    const std::size_t n = std::min<std::size_t>(obj.size() - at, 1 + rng() % 2500);
    const auto piece = obj.subspan(at, n);
    bool zeros = true;
    for (std::byte b : piece) zeros = zeros && b == std::byte{0};
    if (zeros)
      d.zeros(n);
    else
      d.data(piece);
    at += n;
  }
  d.finish();
}

ReadWindow reader(const WindowDigests& d, const std::vector<std::byte>& stored) {
  return [&d, &stored](std::size_t, std::size_t w, WindowHasher& h, std::uint64_t& bytes) {
    const auto [start, end] = d.bounds(w);
    h.data(std::span(stored).subspan(static_cast<std::size_t>(start),
                                     static_cast<std::size_t>(end - start)));
    bytes += end - start;
    return Status();
  };
}

}  // namespace

TEST_CASE("read_back: what was sent reads back equal, in any split", "[cloud][readback]") {
  const std::size_t size = 64 * 1024 + 777;  // not a whole number of windows
  const auto obj = make_object(size, 7);
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    WindowDigests d(4096);
    feed(d, obj, seed);
    REQUIRE(d.size() == size);
    REQUIRE(d.count() == 17);
    REQUIRE(d.bounds(16) == std::pair<std::uint64_t, std::uint64_t>{65536, size});
    for (std::size_t threads : {1u, 4u}) {
      auto got = read_back(d, threads, reader(d, obj), "test", {});
      REQUIRE(got.ok());
      CHECK(*got == size);
    }
  }
}

TEST_CASE("read_back: zero windows need no bytes", "[cloud][readback]") {
  WindowDigests d(4096);
  std::vector<std::byte> data(100, std::byte{9});
  d.zeros(3 * 4096 + 10);
  d.data(data);
  d.zeros(4096);
  d.finish();
  REQUIRE(d.count() == 5);
  CHECK(d.zero(0));
  CHECK(d.zero(2));
  CHECK_FALSE(d.zero(3));
  CHECK(d.zero(4));  // the short last window
  // Reading back zeros as a count for the zero windows (Azure's holes) matches.
  std::atomic<int> data_reads{0};
  auto got = read_back(d, 2,
                       [&](std::size_t, std::size_t w, WindowHasher& h, std::uint64_t&) {
                         const auto [start, end] = d.bounds(w);
                         if (w == 3) {
                           ++data_reads;
                           h.zeros(10);
                           h.data(data);
                           h.zeros(end - start - 110);
                         } else {
                           h.zeros(end - start);
                         }
                         return Status();
                       },
                       "test", {});
  REQUIRE(got.ok());
  CHECK(data_reads == 1);
  CHECK(zero_window_digest(4096) == zero_window_digest(4096));
  CHECK(zero_window_digest(4096) != zero_window_digest(4095));
}

TEST_CASE("read_back: the first differing window is named", "[cloud][readback]") {
  const std::size_t size = 40 * 1024;
  const auto obj = make_object(size, 11);
  WindowDigests d(4096);
  feed(d, obj, 5);
  for (std::size_t threads : {1u, 3u, 8u}) {
    auto stored = obj;
    stored[7 * 4096 + 100] ^= std::byte{1};
    stored[2 * 4096 + 4095] ^= std::byte{0x80};
    auto got = read_back(d, threads, reader(d, stored), "azure: BLOB read back", {});
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Errc::io_error);
    CHECK(got.status().message() ==
          "azure: BLOB read back: the bytes differ from those sent at offset 8192 (the first "
          "differing 4 KiB window: bytes 8192..12287)");
  }
  // A window sent as zeros that holds data is said to be one.
  WindowDigests z(4096);
  z.zeros(8192);
  z.finish();
  std::vector<std::byte> stored(8192);
  stored[5000] = std::byte{1};
  auto got = read_back(z, 2, reader(z, stored), "x", {});
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().message().ends_with("bytes 4096..8191, sent as zeros)"));
}

TEST_CASE("read_back: a read failure ends it and is returned", "[cloud][readback]") {
  WindowDigests d(4096);
  d.zeros(20 * 4096);
  d.finish();
  auto got = read_back(d, 4,
                       [&](std::size_t, std::size_t w, WindowHasher& h, std::uint64_t&) {
                         if (w == 5) return io_error("GET failed");
                         h.zeros(4096);
                         return Status();
                       },
                       "x", {});
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().message() == "GET failed");
  // A short read is a bug in the reader, not a difference.
  auto short_read = read_back(d, 1,
                              [&](std::size_t, std::size_t, WindowHasher& h, std::uint64_t&) {
                                h.zeros(100);
                                return Status();
                              },
                              "x", {});
  REQUIRE_FALSE(short_read.ok());
  CHECK(short_read.status().code() == Errc::internal);
}

TEST_CASE("parse_block_list: ListSnapshotBlocks replies", "[cloud][readback]") {
  // AWS: integer indices in ascending order (moto's strings in insertion order are refused:
  // tests/cloud/moto_launcher.py makes moto answer as AWS does; ebs_source_test has the rest).
  auto l = aws::parse_block_list(
      R"({"Blocks":[{"BlockToken":"t2","BlockIndex":2},{"BlockIndex":7,"BlockToken":"t7"}],)"
      R"("BlockSize":524288,"VolumeSize":1,"NextToken":"n1"})");
  REQUIRE(l.ok());
  REQUIRE(l->blocks.size() == 2);
  CHECK(l->blocks[0].index == 2);
  CHECK(l->blocks[0].token == "t2");
  CHECK(l->blocks[1].index == 7);
  CHECK(l->block_bytes == 524288);
  CHECK(l->volume_gib == 1);
  CHECK(l->next_token == "n1");
  auto empty = aws::parse_block_list(R"({"Blocks":[],"BlockSize":512,"VolumeSize":1})");
  REQUIRE(empty.ok());
  CHECK(empty->blocks.empty());
  CHECK(empty->next_token.empty());
  for (const char* bad :
       {R"({"Blocks":[{"BlockIndex":1,"BlockToken":"a"}],"VolumeSize":1})",
        R"({"Blocks":[{"BlockIndex":"x1","BlockToken":"a"}],"BlockSize":512,"VolumeSize":1})",
        R"({"Blocks":[{"BlockIndex":1}],"BlockSize":512,"VolumeSize":1})",
        R"({"Blocks":[{"BlockIndex":1,"BlockToken":"a"},{"BlockIndex":1,"BlockToken":"b"}],)"
        R"("BlockSize":512,"VolumeSize":1})",
        R"({"Blocks":[{"BlockIndex":1,"BlockToken":"a"})",
        R"({"Blocks":[{"BlockIndex":7,"BlockToken":"t7"},{"BlockToken":"t2","BlockIndex":"2"}],)"
        R"("BlockSize":512,"VolumeSize":1})"}) {
    auto r = aws::parse_block_list(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
  }
}

namespace {

// A destination in memory: records the order of the calls convert() makes; its verify() reads
// what the sink stored through read_back(), after `damage` changed it.
class MemoryDestination final : public RemoteOutput {
 public:
  explicit MemoryDestination(bool can_verify) : can_verify_(can_verify) {}
  const std::string& display_name() const override { return name_; }
  const DestinationCaps& caps() const override {
    static const DestinationCaps c{.kind = "memory", .description = "memory", .takes_disk = true};
    return c;
  }
  Status validate() const override { return {}; }
  Result<std::unique_ptr<ByteSink>> open(std::optional<std::uint64_t>, std::stop_token) override {
    calls.push_back("open");
    return memory_sink(&stored);
  }
  UploadStats stats() const override { return {}; }
  Status keep_digests() override {
    calls.push_back("keep_digests");
    if (!can_verify_) return RemoteOutput::keep_digests();
    digests = std::make_unique<remote::WindowDigests>(4096);
    return {};
  }
  Status verify(std::stop_token stop) override {
    calls.push_back("verify");
    // What the sink got is what the digests see (a real sink feeds them as it writes).
    digests->data(stored);
    digests->finish();
    if (damage < stored.size()) stored[damage] ^= std::byte{1};
    auto r = remote::read_back(*digests, 2, reader(*digests, stored), "memory read back", stop);
    return r.status();
  }

  std::vector<std::string> calls;
  std::vector<std::byte> stored;
  std::unique_ptr<remote::WindowDigests> digests;
  std::size_t damage = SIZE_MAX;

 private:
  bool can_verify_;
  std::string name_ = "memory:";
};

}  // namespace

TEST_CASE("convert: verify_upload reads the destination back after it finished",
          "[cloud][readback]") {
  test::TempDir dir;
  const auto disk = test::pattern(64 * 1024, 3);
  test::write_file(dir / "in.raw", disk);
  ConvertOptions o;
  o.target = "raw";
  o.verify_upload = true;

  MemoryDestination good(true);
  auto r = convert({dir / "in.raw"}, {"", nullptr, &good}, o);
  REQUIRE(r.ok());
  CHECK(good.calls == std::vector<std::string>{"keep_digests", "open", "verify"});
  CHECK(good.stored == disk);

  MemoryDestination bad(true);
  bad.damage = 20000;
  r = convert({dir / "in.raw"}, {"", nullptr, &bad}, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::io_error);
  CHECK(r.status().message().starts_with(
      "memory read back: the bytes differ from those sent at offset 16384 "));

  // A destination that cannot be read back is refused before anything is uploaded.
  MemoryDestination plain(false);
  r = convert({dir / "in.raw"}, {"", nullptr, &plain}, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::unsupported);
  CHECK(plain.calls == std::vector<std::string>{"keep_digests"});

  // Without it nothing is read back.
  MemoryDestination off(true);
  o.verify_upload = false;
  REQUIRE(convert({dir / "in.raw"}, {"", nullptr, &off}, o).ok());
  CHECK(off.calls == std::vector<std::string>{"open"});

  // Into a file it is refused, and nothing is written.
  o.verify_upload = true;
  r = convert({dir / "in.raw"}, {dir / "out.raw"}, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
}
