// Incremental moves through convert() (image/incremental.h) and the remote sources' block cache
// (remote/reader/block_file.h), with a source over memory that counts what is read and a
// destination that records what convert() tells it and what its sink receives.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "image/incremental.h"
#include "remote/reader/block_file.h"
#include "test_support.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"
#include "vdisk/remote.h"

using namespace vdisk;
using vdisk::test::pattern;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;

// Blocks of a byte vector, fetched by index; counts the fetches per block. `fail_block` fails.
class MemoryFetcher final : public remote::BlockFetcher {
 public:
  MemoryFetcher(std::vector<std::byte> bytes, std::uint64_t block, std::size_t slots,
                std::vector<bool> data_blocks = {}, std::optional<ChangeSet> changes = {})
      : bytes_(std::move(bytes)),
        block_(block),
        slots_(slots),
        data_(std::move(data_blocks)),
        changes_(std::move(changes)),
        fetches_(
            std::make_shared<std::vector<std::atomic<int>>>((bytes_.size() + block - 1) / block)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  std::uint64_t block_bytes() const override { return block_; }
  std::size_t slots() const override { return slots_; }
  Status fetch(std::size_t slot, std::uint64_t index, std::span<std::byte> dst) override {
    REQUIRE(slot < slots_);
    REQUIRE(has_data(index));
    (*fetches_)[index].fetch_add(1);
    if (index == fail_block) return io_error("memory: block " + std::to_string(index) + " failed");
    std::memcpy(dst.data(), bytes_.data() + index * block_, dst.size());
    counters_.request(dst.size());
    return {};
  }
  bool has_data(std::uint64_t index) const override { return data_.empty() || data_[index]; }
  Status allocation(std::uint64_t offset, std::uint64_t length,
                    std::vector<Extent>& out) const override {
    for (std::uint64_t at = offset; at < offset + length;) {
      const std::uint64_t index = at / block_;
      const std::uint64_t end = std::min(offset + length, (index + 1) * block_);
      append_extent(out,
                    {at, end - at, has_data(index) ? ExtentKind::data : ExtentKind::unallocated});
      at = end;
    }
    return {};
  }
  std::string_view kind() const override { return "memory"; }
  const std::string& name() const override { return name_; }
  std::string identity() const override { return "mem:new"; }
  const ChangeSet* changes() const override { return changes_ ? &*changes_ : nullptr; }
  remote::SourceCounters& counters() override { return counters_; }

  std::vector<std::byte> bytes_;
  std::uint64_t block_;
  std::size_t slots_;
  std::vector<bool> data_;
  std::optional<ChangeSet> changes_;
  // Per block, shared: it outlives the fetcher, which convert() destroys with its source.
  std::shared_ptr<std::vector<std::atomic<int>>> fetches_;
  std::uint64_t fail_block = ~0ull;
  remote::SourceCounters counters_;
  std::string name_ = "mem://disk";
};

// A destination that takes a raw disk in place and records set_source() and the sink's calls.
class RecordingRemote final : public RemoteOutput {
 public:
  const std::string& display_name() const override { return name_; }
  const DestinationCaps& caps() const override { return caps_; }
  Status validate() const override { return {}; }
  Status set_source(std::string_view identity, const ChangeSet* changes) override {
    got_identity = std::string(identity);
    if (changes) got_changes = *changes;
    return {};
  }
  Result<std::unique_ptr<ByteSink>> open(std::optional<std::uint64_t>, std::stop_token) override {
    return std::unique_ptr<ByteSink>(std::make_unique<Sink>(*this));
  }
  UploadStats stats() const override { return {}; }

  std::string got_identity;
  std::optional<ChangeSet> got_changes;
  std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> writes;  // data, by offset
  std::uint64_t zero_bytes = 0;
  std::uint64_t end = 0;

 private:
  class Sink final : public ByteSink {
   public:
    explicit Sink(RecordingRemote& r) : r_(r) {}
    Status write(std::span<const std::byte> data) override {
      r_.writes.emplace_back(pos_, std::vector<std::byte>(data.begin(), data.end()));
      pos_ += data.size();
      return {};
    }
    Status write_zeroes(std::uint64_t n) override {
      r_.zero_bytes += n;
      pos_ += n;
      return {};
    }
    std::uint64_t position() const override { return pos_; }
    Status finish() override {
      r_.end = pos_;
      return {};
    }

   private:
    RecordingRemote& r_;
    std::uint64_t pos_ = 0;
  };
  std::string name_ = "recording";
  DestinationCaps caps_{"recording", "a recording", true, true, true, false, 1};
};

}  // namespace

TEST_CASE("incremental: output_changes clips, merges and adds what padding rewrites",
          "[incremental]") {
  ChangeSet in;
  in.base = "a";
  in.identity = "b";
  in.ranges = {{0, 512, ExtentKind::data},
               {512, 512, ExtentKind::unallocated},
               {4 * kMiB, kMiB, ExtentKind::data},
               {9 * kMiB, 4 * kMiB, ExtentKind::data}};
  GptReport none;
  auto same = detail::output_changes(in, 10 * kMiB, 10 * kMiB, none);
  CHECK(same.base == "a");
  CHECK(same.disk_bytes == 10 * kMiB);
  REQUIRE(same.ranges.size() == 3);
  CHECK(same.ranges[0] == Extent{0, 1024, ExtentKind::data});
  CHECK(same.ranges[1] == Extent{4 * kMiB, kMiB, ExtentKind::data});
  CHECK(same.ranges[2] == Extent{9 * kMiB, kMiB, ExtentKind::data});  // clipped to the disk
  CHECK(detail::changed_bytes(same) == 1024 + 2 * kMiB);
  // Padded to 20 MiB: the first MiB, the source's last MiB and the padding are rewritten too.
  auto padded = detail::output_changes(in, 10 * kMiB, 20 * kMiB, none);
  REQUIRE(padded.ranges.size() == 3);
  CHECK(padded.ranges[0] == Extent{0, kMiB, ExtentKind::data});
  CHECK(padded.ranges[1] == Extent{4 * kMiB, kMiB, ExtentKind::data});
  CHECK(padded.ranges[2] == Extent{9 * kMiB, 11 * kMiB, ExtentKind::data});
}

TEST_CASE("incremental: convert reads only the changed blocks and tells the destination",
          "[incremental]") {
  const std::uint64_t block = 64 * 1024;
  const std::uint64_t size = 4 * kMiB;
  auto bytes = pattern(size, 3);
  const std::uint64_t blocks = size / block;
  ChangeSet changes;
  changes.base = "mem:old";
  changes.identity = "mem:new";
  changes.disk_bytes = size;
  changes.ranges = {{2 * block, 2 * block, ExtentKind::data},
                    {10 * block, block, ExtentKind::unallocated},
                    {40 * block, block, ExtentKind::data}};
  // Block 10 holds no data now (it was cleared); everything else does.
  std::vector<bool> data(blocks, true);
  data[10] = false;
  std::memset(bytes.data() + 10 * block, 0, block);
  auto fetcher = std::make_unique<MemoryFetcher>(bytes, block, 2, data, changes);
  const auto fetches = fetcher->fetches_;
  ImageInput in;
  in.path = "mem://disk";
  in.file = remote::block_file(std::move(fetcher), {});
  RecordingRemote out;
  ImageOutput o;
  o.remote = &out;
  ConvertOptions opt;
  opt.target = "raw";
  opt.pipeline.chunk_bytes = 256 * 1024;
  auto r = convert(std::move(in), std::move(o), opt);
  REQUIRE(r.ok());
  CHECK(out.got_identity == "mem:new");
  REQUIRE(out.got_changes);
  CHECK(out.got_changes->base == "mem:old");
  REQUIRE(r->changed_bytes);
  CHECK(*r->changed_bytes == 4 * block);
  REQUIRE(r->source_stats);
  // The probe reads the first and last blocks; the copy only the changed ones.
  std::uint64_t fetched = 0;
  for (std::uint64_t i = 0; i < blocks; ++i) {
    const int n = (*fetches)[i].load();
    CHECK(n <= 1);
    fetched += std::uint64_t(n);
    const bool changed = (i >= 2 && i < 4) || i == 40;
    if (changed) CHECK(n == 1);
  }
  CHECK(fetched <= 3 + 3);  // the changed blocks, plus the probe's few
  // What the sink got as data is exactly the changed data.
  for (const auto& [at, d] : out.writes) {
    const bool inside = (at >= 2 * block && at + d.size() <= 4 * block) ||
                        (at >= 40 * block && at + d.size() <= 41 * block);
    CHECK(inside);
    CHECK(std::memcmp(d.data(), bytes.data() + at, d.size()) == 0);
  }
  CHECK(out.end == size);
}

TEST_CASE("incremental: refused into a file, and into an encoding target", "[incremental]") {
  vdisk::test::TempDir dir;
  ChangeSet changes;
  changes.base = "mem:old";
  changes.ranges = {{0, 4096, ExtentKind::data}};
  auto make = [&] {
    ImageInput in;
    in.path = "mem://disk";
    in.file = remote::block_file(
        std::make_unique<MemoryFetcher>(pattern(kMiB, 1), 4096, 1, std::vector<bool>{}, changes),
        {});
    return in;
  };
  ConvertOptions opt;
  opt.target = "raw";
  auto r = convert(make(), {dir / "out.raw"}, opt);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
  RecordingRemote out;
  ImageOutput o;
  o.remote = &out;
  opt.target = "vmdk";
  r = convert(make(), std::move(o), opt);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().to_string());
  CHECK(r.status().message().find("encodes the disk") != std::string::npos);
}

TEST_CASE("block cache: concurrent readers get the bytes, each block is fetched once",
          "[remote][cache]") {
  const std::uint64_t block = 4096;
  auto bytes = pattern(256 * block + 100, 9);  // a short last block
  auto fetcher = std::make_unique<MemoryFetcher>(bytes, block, 4);
  MemoryFetcher* f = fetcher.get();
  SourceCacheOptions co;
  co.cache_bytes = 1u << 30;  // everything fits: nothing is fetched twice
  auto file = remote::block_file(std::move(fetcher), co);
  std::vector<std::thread> readers;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&, t] {
      std::vector<std::byte> buf(3 * block + 17);
      for (std::uint64_t at = std::uint64_t(t) * 1000; at + buf.size() <= bytes.size();
           at += 5 * block + 3) {
        if (!file->read_at(at, buf).ok() ||
            std::memcmp(buf.data(), bytes.data() + at, buf.size()) != 0)
          ++bad;
      }
    });
  for (auto& r : readers) r.join();
  CHECK(bad == 0);
  for (std::uint64_t i = 0; i < f->fetches_->size(); ++i) CHECK((*f->fetches_)[i].load() <= 1);
  std::vector<std::byte> tail(100);
  REQUIRE(file->read_at(256 * block, tail).ok());
  CHECK(std::memcmp(tail.data(), bytes.data() + 256 * block, 100) == 0);
  CHECK(file->read_at(bytes.size() - 10, std::span<std::byte>(tail)).code() == Errc::out_of_range);
}

TEST_CASE("block cache: bounded, reads past its size, failures are not cached", "[remote][cache]") {
  const std::uint64_t block = 4096;
  auto bytes = pattern(64 * block, 5);
  std::vector<bool> data(64, true);
  data[7] = false;  // a hole: read as zeros, never fetched
  std::memset(bytes.data() + 7 * block, 0, block);
  auto fetcher = std::make_unique<MemoryFetcher>(bytes, block, 2, data);
  MemoryFetcher* f = fetcher.get();
  SourceCacheOptions co;
  co.cache_bytes = 4 * block;  // 4 blocks: a 20-block read goes in windows
  auto file = remote::block_file(std::move(fetcher), co);
  std::vector<std::byte> buf(20 * block);
  REQUIRE(file->read_at(0, buf).ok());
  CHECK(std::memcmp(buf.data(), bytes.data(), buf.size()) == 0);
  CHECK((*f->fetches_)[7].load() == 0);
  // Sequential reads: read-ahead fetches ahead, and everything still reads right.
  for (std::uint64_t at = 20 * block; at < 64 * block; at += block) {
    REQUIRE(file->read_at(at, std::span(buf).first(block)).ok());
    CHECK(std::memcmp(buf.data(), bytes.data() + at, block) == 0);
  }
  f->fail_block = 3;
  (*f->fetches_)[3] = 0;
  auto s = file->read_at(3 * block, std::span(buf).first(10));
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("block 3") != std::string::npos);
  f->fail_block = ~0ull;
  REQUIRE(file->read_at(3 * block, std::span(buf).first(10)).ok());  // tried again
  CHECK((*f->fetches_)[3].load() == 2);
}
