// Azure blobs as a source (blob_source.h), without a network: clients talk to a scripted Blob
// service (fake_blob_service.h); and the block cache's cancel on destruction.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fake_blob_service.h"
#include "remote/azure_blob/blob_source.h"
#include "remote/reader/block_file.h"
#include "vdisk/remote.h"

using namespace vdisk;
using namespace vdisk::azure;
using namespace vdisk::azure::testing;

TEST_CASE("azure source: the page ranges are the map, and only they are fetched",
          "[azure][source]") {
  FakeBlobService svc;
  svc.exists = true;
  svc.bytes.assign(8 * MiB, std::byte{0});
  svc.put(0, pattern(4096, 1));
  svc.put(3 * MiB + 512, pattern(512, 2));
  svc.put(3 * MiB + 512 * 200, pattern(1024, 3));  // 100 KiB on: a second piece of block 3
  svc.put(7 * MiB, pattern(MiB, 4));
  svc.ranges_per_reply = 1;  // Get Page Ranges follows NextMarker

  auto f = open_blob_source(source_options(), maker(svc), {});
  REQUIRE(f.ok());
  RemoteFile& file = **f;
  CHECK(file.size() == 8 * MiB);
  CHECK(file.kind() == "azure-page-blob");
  CHECK(svc.count("GET", "pagelist") == 4);

  std::vector<Extent> map;
  REQUIRE(file.allocation(0, 8 * MiB, map).ok());
  const std::vector<Extent> want{
      {0, 4096, ExtentKind::data},
      {4096, 3 * MiB + 512 - 4096, ExtentKind::unallocated},
      {3 * MiB + 512, 512, ExtentKind::data},
      {3 * MiB + 1024, 512 * 198, ExtentKind::unallocated},
      {3 * MiB + 512 * 200, 1024, ExtentKind::data},
      {3 * MiB + 512 * 202, 4 * MiB - 512 * 202, ExtentKind::unallocated},
      {7 * MiB, MiB, ExtentKind::data}};
  CHECK(map == want);
  map.clear();
  REQUIRE(file.allocation(4 * MiB, MiB, map).ok());
  CHECK(map == std::vector<Extent>{{4 * MiB, MiB, ExtentKind::unallocated}});

  std::vector<std::byte> all(8 * MiB);
  REQUIRE(file.read_at(0, all).ok());
  CHECK(all == svc.bytes);
  // Blocks 0, 3 and 7 only, each piece of its page ranges alone (block 3: two pieces, 100 KiB
  // apart, more than the merge gap).
  CHECK(svc.count("GET", "") == 4);
  const SourceStats st = file.stats();
  CHECK(st.bytes_received == 4096 + 512 + 1024 + MiB);
  CHECK(st.blocks_fetched == 3);
  CHECK(st.requests == 1 + 4 + 4);  // properties, page lists, data
  for (const auto& s : svc.seen)
    if (s.method == "GET" && s.comp.empty()) CHECK(s.end - s.start <= MiB);

  Properties p;
  file.describe(p);
  const std::string text = p.to_json(0);
  CHECK(text.find("\"page_ranges\":4") != std::string::npos);
  CHECK(text.find("\"mapped_bytes\":" + std::to_string(4096 + 512 + 1024 + MiB)) !=
        std::string::npos);
  CHECK(text.find("PageBlob") != std::string::npos);
  CHECK(text.find("SECRET") == std::string::npos);
}

TEST_CASE("azure source: pieces of a block closer than the merge gap are one request",
          "[azure][source]") {
  const std::vector<PageRange> r{{0, 512}, {1024, 2048}, {200000, 200192 + 320}, {MiB, MiB + 512}};
  auto v = covered_pieces(r, 0, MiB, kMergeGapBytes);
  REQUIRE(v.size() == 2);
  CHECK(v[0].start == 0);
  CHECK(v[0].end == 2048);
  CHECK(v[1].start == 200000);
  CHECK(covered_pieces(r, 1500, 1600).size() == 1);
  CHECK(covered_pieces(r, 4096, 8192).empty());
}

TEST_CASE("azure source: other blob types are all data", "[azure][source]") {
  FakeBlobService svc;
  svc.exists = true;
  svc.type = "BlockBlob";
  svc.bytes = pattern(3 * MiB + 100, 5);
  auto f = open_blob_source(source_options(), maker(svc), {});
  REQUIRE(f.ok());
  CHECK((*f)->kind() == "azure-blob");
  std::vector<Extent> map;
  REQUIRE((*f)->allocation(0, (*f)->size(), map).ok());
  CHECK(map == std::vector<Extent>{{0, 3 * MiB + 100, ExtentKind::data}});
  std::vector<std::byte> all((*f)->size());
  REQUIRE((*f)->read_at(0, all).ok());
  CHECK(all == svc.bytes);
  CHECK(svc.count("GET", "pagelist") == 0);
}

TEST_CASE("azure source: each reply is checked", "[azure][source]") {
  FakeBlobService svc;
  svc.exists = true;
  svc.bytes.assign(4 * MiB, std::byte{0});
  svc.put(MiB, pattern(MiB, 6));
  auto fail_with = [&](std::string fault) {
    svc.get_faults = {fault, fault, fault, fault};
    auto f = open_blob_source(source_options(1), maker(svc), {});
    REQUIRE(f.ok());
    std::vector<std::byte> buf(4096);
    return (*f)->read_at(MiB + 8192, buf);
  };
  SECTION("another range") {
    Status s = fail_with("content-range");
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == Errc::io_error);
    CHECK(s.message().find("another range") != std::string::npos);
    CHECK(s.message().find("bytes=1048576-2097151") != std::string::npos);
    CHECK(s.message().find("sig=REDACTED") != std::string::npos);
    CHECK(s.message().find("SECRET") == std::string::npos);
  }
  SECTION("a short body") {
    Status s = fail_with("short");
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("holds 1048575 bytes, expected 1048576") != std::string::npos);
  }
  SECTION("a 200 for part of the blob") {
    Status s = fail_with("200");
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("HTTP 200") != std::string::npos);
  }
  SECTION("a body that does not match its Content-MD5, every time") {
    Status s = fail_with("md5");
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == Errc::io_error);
    CHECK(s.message().find("Content-MD5") != std::string::npos);
    CHECK(s.message().find("(3 attempts)") != std::string::npos);
  }
  SECTION("a body that does not match its Content-MD5 once is fetched again") {
    svc.get_faults = {"md5"};
    auto f = open_blob_source(source_options(1), maker(svc), {});
    REQUIRE(f.ok());
    std::vector<std::byte> buf(MiB);
    REQUIRE((*f)->read_at(MiB, buf).ok());
    CHECK(std::equal(buf.begin(), buf.end(), svc.bytes.begin() + MiB));
    CHECK((*f)->stats().retries == 1);
  }
}

TEST_CASE("azure source: a blob changed while it is read is an error", "[azure][source]") {
  FakeBlobService svc;
  svc.exists = true;
  svc.bytes.assign(2 * MiB, std::byte{0});
  svc.put(0, pattern(2 * MiB, 7));
  auto f = open_blob_source(source_options(1), maker(svc), {});
  REQUIRE(f.ok());
  std::vector<std::byte> buf(4096);
  REQUIRE((*f)->read_at(0, buf).ok());
  svc.get_faults = {"etag"};
  Status s = (*f)->read_at(MiB, buf);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Errc::io_error);
  CHECK(s.message().find("changed while it was read") != std::string::npos);
  CHECK(s.message().find("bytes=1048576-2097151") != std::string::npos);
  CHECK(s.message().find("SECRET") == std::string::npos);
}

TEST_CASE("azure source: a missing blob and bad options", "[azure][source]") {
  FakeBlobService svc;
  auto f = open_blob_source(source_options(), maker(svc), {});
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == Errc::not_found);
  CHECK(f.status().message().find("SECRET") == std::string::npos);
  AzureBlobSourceOptions o = source_options();
  o.cache.block_bytes = 3000;
  CHECK(open_blob_source(o, maker(svc), {}).status().code() == Errc::invalid_argument);
  o = source_options();
  o.url = "http://127.0.0.1:1/devstoreaccount1/c/disk.vhd";
  auto nosas = open_blob_source(o, maker(svc), {});
  CHECK(nosas.status().message().find("read permission") != std::string::npos);
  svc.exists = true;
  for (const char* bad : {"9895604649984", "1000", "x"}) {  // 9 TiB, not whole pages, no number
    INFO(bad);
    svc.head_length = bad;
    auto r = open_blob_source(source_options(), maker(svc), {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
  }
}

namespace {

// A fetcher whose fetches of blocks 2 and on wait until cancel().
class WaitingFetcher final : public remote::BlockFetcher {
 public:
  std::uint64_t size() const override { return 4 * MiB; }
  std::uint64_t block_bytes() const override { return MiB; }
  std::size_t slots() const override { return 2; }
  Status fetch(std::size_t, std::uint64_t index, std::span<std::byte> dst) override {
    std::fill(dst.begin(), dst.end(), std::byte{1});
    if (index < 2) return {};
    std::unique_lock lock(mu_);
    ++started_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return cancelled_; });
    return cancelled("test: cancelled");
  }
  std::string_view kind() const override { return "test"; }
  const std::string& name() const override { return name_; }
  remote::SourceCounters& counters() override { return counters_; }
  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  void wait_started() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return started_ > 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int started_ = 0;
  bool cancelled_ = false;
  std::string name_ = "test";
  remote::SourceCounters counters_;
};

}  // namespace

TEST_CASE("block_file: destruction cancels the fetches in flight", "[azure][source]") {
  auto fetcher = std::make_unique<WaitingFetcher>();
  WaitingFetcher& w = *fetcher;
  auto file = remote::block_file(std::move(fetcher), {});
  std::vector<std::byte> buf(MiB);
  REQUIRE(file->read_at(0, buf).ok());
  REQUIRE(file->read_at(MiB, buf).ok());  // sequential: blocks 2 and 3 are read ahead
  w.wait_started();
  std::atomic<bool> done{false};
  std::thread closer([&] {
    file.reset();
    done = true;
  });
  for (int i = 0; i < 1000 && !done; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool ended = done;
  if (!ended) w.cancel();  // the file did not: let it end, and fail
  closer.join();
  CHECK(ended);
}
