// A page blob brought up to date in place (--update; page_update.h, page_blob_output.cpp),
// without a network: the destination over a scripted Blob service (fake_blob_service.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fake_blob_service.h"
#include "remote/azure_blob/page_blob_output.h"
#include "remote/azure_blob/page_update.h"
#include "remote/reader/block_file.h"
#include "vdisk/image.h"
#include "vdisk/remote.h"

using namespace vdisk;
using namespace vdisk::azure;
using namespace vdisk::azure::testing;

namespace {

// A blob of `disk` bytes + a 512-byte footer, recorded as holding `source`.
void make_updatable(FakeBlobService& svc, std::uint64_t disk, std::string source) {
  svc.exists = true;
  svc.bytes.assign(disk + 512, std::byte{0});
  svc.put(0, pattern(disk, 1));
  svc.put(disk, std::vector<std::byte>(512, std::byte{0x63}));
  svc.metadata = {{kMetaSource, std::move(source)}, {kMetaSize, std::to_string(disk + 512)}};
}

AzureBlobOptions update_options() {
  AzureBlobOptions o;
  o.url = kUrl;
  o.update = true;
  o.http = fast();
  return o;
}

}  // namespace

TEST_CASE("azure update: only the changed ranges are written", "[azure][update]") {
  const std::uint64_t disk = 8 * MiB;
  FakeBlobService svc;
  make_updatable(svc, disk, "ebs:snap-a");
  const std::size_t base_gets = svc.seen.size();
  auto out = page_blob_output(update_options(), maker(svc));
  REQUIRE(out.ok());
  ChangeSet cs;
  cs.base = "ebs:snap-a";
  cs.identity = "ebs:snap-b";
  cs.disk_bytes = disk;
  cs.ranges = {{MiB, 512 * 1024, ExtentKind::data},             // new data
               {3 * MiB, 512 * 1024, ExtentKind::unallocated},  // zeros now (write_zeroes)
               {5 * MiB, 512 * 1024, ExtentKind::data}};        // zeros within data
  REQUIRE((*out)->set_source("ebs:snap-b", &cs).ok());
  auto sink = (*out)->open(disk + 512, {});
  REQUIRE(sink.ok());
  // The new disk: pattern 2 everywhere but [3 MiB, 3.5 MiB) (zeros) and 5 MiB + [128 KiB,
  // 384 KiB) (zeros inside a data buffer); a new footer.
  std::vector<std::byte> disk2 = pattern(disk, 2);
  std::fill_n(disk2.begin() + 5 * MiB + 128 * 1024, 256 * 1024, std::byte{0});
  REQUIRE((*sink)->write(std::span(disk2).first(3 * MiB)).ok());
  for (int i = 0; i < 8; ++i) REQUIRE((*sink)->write_zeroes(64 * 1024).ok());  // one clear
  REQUIRE((*sink)->write(std::span(disk2).subspan(3 * MiB + 512 * 1024)).ok());
  const std::vector<std::byte> footer(512, std::byte{0x64});
  REQUIRE((*sink)->write(footer).ok());
  REQUIRE((*sink)->finish().ok());

  // What the blob holds: the old disk outside the changes, the new inside, the new footer.
  std::vector<std::byte> want = pattern(disk, 1);
  std::copy_n(disk2.begin() + MiB, 512 * 1024, want.begin() + MiB);
  std::fill_n(want.begin() + 3 * MiB, 512 * 1024, std::byte{0});
  std::copy_n(disk2.begin() + 5 * MiB, 512 * 1024, want.begin() + 5 * MiB);
  want.insert(want.end(), footer.begin(), footer.end());
  CHECK(svc.bytes == want);
  // Writes inside the changes (and the footer) only.
  std::uint64_t puts = 0, clears = 0;
  for (std::size_t i = base_gets; i < svc.seen.size(); ++i) {
    const auto& s = svc.seen[i];
    if (s.comp != "page") continue;
    (s.page_write == "clear" ? clears : puts)++;
    const bool inside = (s.start >= MiB && s.end <= MiB + 512 * 1024) ||
                        (s.start >= 3 * MiB && s.end <= 3 * MiB + 512 * 1024) ||
                        (s.start >= 5 * MiB && s.end <= 5 * MiB + 512 * 1024) ||
                        (s.start == disk && s.end == disk + 512);
    INFO(s.page_write << " " << s.start << "-" << s.end);
    CHECK(inside);
  }
  // 1 MiB: one put; 3 MiB: one clear; 5 MiB: put, clear, put; the footer: one put.
  CHECK(puts == 4);
  CHECK(clears == 2);
  CHECK(svc.pages.count((3 * MiB) / 512) == 0);  // cleared, not written with zeros
  const UploadStats st = (*out)->stats();
  CHECK(st.requests == 6);
  CHECK(st.ranges_cleared == 2);
  CHECK(st.bytes_sent == 512 * 1024 + 256 * 1024 + 512);
  CHECK_FALSE(st.created);
  // The new identity, recorded at the end; no update marker left.
  CHECK(svc.metadata[kMetaSource] == "ebs:snap-b");
  CHECK(svc.metadata.count(kMetaUpdating) == 0);
  CHECK(svc.count("PUT", "metadata") == 2);
}

TEST_CASE("azure update: a blob holding another version is refused, untouched", "[azure][update]") {
  const std::uint64_t disk = 2 * MiB;
  FakeBlobService svc;
  ChangeSet cs;
  cs.base = "ebs:snap-a";
  cs.identity = "ebs:snap-b";
  cs.disk_bytes = disk;
  cs.ranges = {{0, 512 * 1024, ExtentKind::data}};
  auto refused = [&](std::uint64_t length) {
    auto out = page_blob_output(update_options(), maker(svc));
    REQUIRE(out.ok());
    REQUIRE((*out)->set_source("ebs:snap-b", &cs).ok());
    const std::vector<std::byte> before = svc.bytes;
    auto sink = (*out)->open(length, {});
    REQUIRE_FALSE(sink.ok());
    CHECK(svc.bytes == before);
    CHECK(svc.count("PUT", "page", "update") + svc.count("PUT", "page", "clear") +
              svc.count("PUT", "metadata") + svc.count("PUT", "") ==
          0);
    CHECK(sink.status().message().find("SECRET") == std::string::npos);
    return sink.status();
  };
  SECTION("another source") {
    make_updatable(svc, disk, "ebs:snap-x");
    Status s = refused(disk + 512);
    CHECK(s.code() == Errc::invalid_argument);
    CHECK(s.message().find("expected the blob to hold ebs:snap-a, found ebs:snap-x") !=
          std::string::npos);
  }
  SECTION("no recorded source") {
    make_updatable(svc, disk, "ebs:snap-a");
    svc.metadata.clear();
    CHECK(refused(disk + 512).message().find("found no recorded source") != std::string::npos);
  }
  SECTION("another length") {
    make_updatable(svc, disk, "ebs:snap-a");
    CHECK(
        refused(disk + 512 + MiB).message().find("the blob has 2097664 bytes, expected 3146240") !=
        std::string::npos);
  }
  SECTION("no blob") {
    CHECK(refused(disk + 512).message().find("does not exist") != std::string::npos);
  }
  SECTION("an interrupted update to another version") {
    make_updatable(svc, disk, "ebs:snap-a");
    svc.metadata[kMetaUpdating] = "ebs:snap-c";
    CHECK(refused(disk + 512).message().find("to ebs:snap-c was interrupted") != std::string::npos);
  }
}

TEST_CASE("azure update: what goes with what", "[azure][update]") {
  FakeBlobService svc;
  ChangeSet cs;
  cs.base = "ebs:snap-a";
  cs.identity = "ebs:snap-b";
  SECTION("--update needs changes") {
    auto out = page_blob_output(update_options(), maker(svc));
    REQUIRE(out.ok());
    Status s = (*out)->set_source("ebs:snap-b", nullptr);
    CHECK(s.code() == Errc::invalid_argument);
    CHECK(s.message().find("--update needs an incremental source (--since)") != std::string::npos);
    CHECK((*out)->open(MiB, {}).status().code() == Errc::invalid_argument);
  }
  SECTION("changes need --update") {
    AzureBlobOptions o = update_options();
    o.update = false;
    auto out = page_blob_output(o, maker(svc));
    REQUIRE(out.ok());
    Status s = (*out)->set_source("ebs:snap-b", &cs);
    CHECK(s.code() == Errc::unsupported);
    CHECK(s.message().find("takes full copies; --update writes only the changes") !=
          std::string::npos);
  }
  SECTION("not into a managed disk") {
    AzureBlobOptions o = update_options();
    o.managed_disk = true;
    auto out = page_blob_output(o, maker(svc));
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == Errc::invalid_argument);
  }
  SECTION("a full copy records its source") {
    AzureBlobOptions o = update_options();
    o.update = false;
    auto out = page_blob_output(o, maker(svc));
    REQUIRE(out.ok());
    REQUIRE((*out)->set_source("ebs:snap-b", nullptr).ok());
    auto sink = (*out)->open(MiB, {});
    REQUIRE(sink.ok());
    REQUIRE((*sink)->write(pattern(MiB, 3)).ok());
    REQUIRE((*sink)->finish().ok());
    CHECK(svc.metadata[kMetaSource] == "ebs:snap-b");
    CHECK(svc.metadata[kMetaSize] == std::to_string(MiB));
    CHECK((*out)->stats().requests == svc.count("PUT", "page", "update"));
  }
}

TEST_CASE("azure update: the pages an update writes", "[azure][update]") {
  BlobProperties p;
  p.exists = true;
  p.blob_type = "PageBlob";
  p.length = 4 * MiB + 512;
  p.metadata = {{kMetaSource, "ebs:snap-a"}};
  ChangeSet cs;
  cs.base = "ebs:snap-a";
  cs.identity = "ebs:snap-b";
  cs.disk_bytes = 4 * MiB;
  // Rounded out to pages and merged; the footer page added.
  cs.ranges = {{100, 10, ExtentKind::data},
               {600, 1000, ExtentKind::unallocated},
               {MiB, 4096, ExtentKind::data}};
  auto pages = plan_update(p, cs, p.length, "B");
  REQUIRE(pages.ok());
  REQUIRE(pages->size() == 3);
  CHECK((*pages)[0].start == 0);
  CHECK((*pages)[0].end == 2048);
  CHECK((*pages)[1].start == MiB);
  CHECK((*pages)[1].end == MiB + 4096);
  CHECK((*pages)[2].start == 4 * MiB);
  CHECK((*pages)[2].end == 4 * MiB + 512);
  // A change reaching the footer's page: one range.
  cs.ranges = {{4 * MiB - 512, 512, ExtentKind::data}};
  pages = plan_update(p, cs, p.length, "B");
  REQUIRE(pages.ok());
  REQUIRE(pages->size() == 1);
  CHECK((*pages)[0].start == 4 * MiB - 512);
  CHECK((*pages)[0].end == 4 * MiB + 512);
  // Hostile ranges: out of order, overlapping, past the output, wrapping around.
  for (const std::vector<Extent>& bad :
       {std::vector<Extent>{{MiB, 512, ExtentKind::data}, {0, 512, ExtentKind::data}},
        std::vector<Extent>{{0, 1024, ExtentKind::data}, {512, 512, ExtentKind::data}},
        std::vector<Extent>{{4 * MiB, 1024, ExtentKind::data}},
        std::vector<Extent>{{512, ~std::uint64_t{0}, ExtentKind::data}},
        std::vector<Extent>{{512, 0, ExtentKind::data}}}) {
    cs.ranges = bad;
    auto r = plan_update(p, cs, p.length, "B");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
  }
}

TEST_CASE("azure update: data pages and the zero runs between them", "[azure][update]") {
  std::vector<std::byte> b(64 * 1024 + 4096, std::byte{0});
  b[0] = std::byte{1};                // page 0
  b[3 * 512 + 7] = std::byte{1};      // page 3: 1 KiB of zeros before it, joined
  b[64 * 1024 + 512] = std::byte{1};  // 63.5 KiB of zeros later, joined with gap 64 KiB
  auto runs = data_runs(b, 0, {0, b.size()}, kZeroGapBytes);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].start == 0);
  CHECK(runs[0].end == 64 * 1024 + 1024);
  runs = data_runs(b, 0, {0, b.size()}, 4096);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].end == 4 * 512);
  CHECK(runs[1].start == 64 * 1024 + 512);
  // A piece of the buffer, which starts at offset 1 MiB of the blob.
  runs = data_runs(b, MiB, {MiB + 1024, MiB + 4096}, 0);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].start == MiB + 1536);
  CHECK(runs[0].end == MiB + 2048);
  CHECK(data_runs(b, 0, {4096, 8192}, kZeroGapBytes).empty());
}

namespace {

// A disk in memory that says what changed since "mem:old" (an EBS snapshot read with --since).
class ChangedDisk final : public remote::BlockFetcher {
 public:
  ChangedDisk(std::vector<std::byte> bytes, ChangeSet changes)
      : bytes_(std::move(bytes)), changes_(std::move(changes)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  std::uint64_t block_bytes() const override { return 64 * 1024; }
  std::size_t slots() const override { return 2; }
  Status fetch(std::size_t, std::uint64_t index, std::span<std::byte> dst) override {
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(index * 64 * 1024), dst.size(),
                dst.begin());
    return {};
  }
  std::string_view kind() const override { return "memory"; }
  const std::string& name() const override { return name_; }
  std::string identity() const override { return changes_.identity; }
  const ChangeSet* changes() const override { return &changes_; }
  remote::SourceCounters& counters() override { return counters_; }

 private:
  std::vector<std::byte> bytes_;
  ChangeSet changes_;
  std::string name_ = "mem://disk";
  remote::SourceCounters counters_;
};

}  // namespace

TEST_CASE("azure update: convert() brings a blob holding the base up to the new version",
          "[azure][update]") {
  const std::uint64_t disk = 20 * MiB;  // a whole MiB, Azure's least: no padding
  const std::uint64_t blk = 512 * 1024;
  FakeBlobService svc;
  make_updatable(svc, disk, "mem:old");
  std::vector<std::byte> now = pattern(disk, 1);  // what the blob holds, changed:
  const std::vector<std::byte> fresh = pattern(2 * blk, 9);
  std::copy_n(fresh.begin(), blk, now.begin() + 2 * MiB);               // rewritten
  std::fill_n(now.begin() + 6 * MiB, blk, std::byte{0});                // now zeros
  std::copy_n(fresh.begin() + blk, blk, now.begin() + 10 * MiB + blk);  // rewritten
  ChangeSet cs;
  cs.base = "mem:old";
  cs.identity = "mem:new";
  cs.disk_bytes = disk;
  cs.ranges = {{2 * MiB, blk, ExtentKind::data},
               {6 * MiB, blk, ExtentKind::unallocated},
               {10 * MiB + blk, blk, ExtentKind::data}};
  ImageInput in;
  in.path = "mem://disk";
  in.file = remote::block_file(std::make_unique<ChangedDisk>(now, cs), {});
  auto out = page_blob_output(update_options(), maker(svc));
  REQUIRE(out.ok());
  ImageOutput o;
  o.remote = out->get();
  ConvertOptions opt;
  opt.target = "azure";
  const std::size_t before = svc.seen.size();
  auto r = convert(std::move(in), std::move(o), opt);
  INFO(r.status().message());
  REQUIRE(r.ok());
  // The blob is the new disk, with a new footer; only changed pages and the footer were written.
  CHECK(std::equal(now.begin(), now.end(), svc.bytes.begin()));
  CHECK(std::memcmp(svc.bytes.data() + disk, "conectix", 8) == 0);
  std::uint64_t puts = 0, clears = 0;
  for (std::size_t i = before; i < svc.seen.size(); ++i) {
    const auto& w = svc.seen[i];
    if (w.comp != "page") continue;
    (w.page_write == "clear" ? clears : puts)++;
    const bool inside = (w.start >= 2 * MiB && w.end <= 2 * MiB + blk) ||
                        (w.start >= 6 * MiB && w.end <= 6 * MiB + blk) ||
                        (w.start >= 10 * MiB + blk && w.end <= 11 * MiB) ||
                        (w.start == disk && w.end == disk + 512);
    INFO(w.page_write << " " << w.start << "-" << w.end);
    CHECK(inside);
  }
  CHECK(puts == 3);
  CHECK(clears == 1);
  CHECK(svc.metadata[kMetaSource] == "mem:new");
  const UploadStats st = (*out)->stats();
  CHECK(st.requests == 4);
  CHECK(st.bytes_sent == 2 * blk + 512);
  REQUIRE(r->changed_bytes);
  CHECK(*r->changed_bytes == 3 * blk);

  // --verify compares with what was sent: refused with --update, before anything is written.
  auto again = page_blob_output(update_options(), maker(svc));
  REQUIRE(again.ok());
  ImageInput in2;
  in2.path = "mem://disk";
  cs.base = "mem:new";
  cs.identity = "mem:newer";
  in2.file = remote::block_file(std::make_unique<ChangedDisk>(now, cs), {});
  ImageOutput o2;
  o2.remote = again->get();
  opt.verify_upload = true;
  const std::size_t writes = svc.count("PUT", "page", "update") + svc.count("PUT", "metadata");
  auto v = convert(std::move(in2), std::move(o2), opt);
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().code() == Errc::invalid_argument);
  CHECK(v.status().message().find("--update sends only the changes") != std::string::npos);
  CHECK(svc.count("PUT", "page", "update") + svc.count("PUT", "metadata") == writes);
}
