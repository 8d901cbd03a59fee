// GPT relocation for padded disks: the plan, the padded source (bytes and map), hostile GPTs,
// and convert() to azure with and without keep_gpt.
#include <catch2/catch.hpp>

#include <algorithm>

#include "gpt/gpt_codec.h"
#include "gpt/gpt_relocate.h"
#include "gpt_builder.h"
#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"

namespace vdisk::test {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
using Outcome = gpt::Analysis::Outcome;

GptSpec spec_of(std::uint64_t size, std::uint64_t lba = 512) {
  GptSpec s;
  s.size = size;
  s.lba_size = lba;
  s.first_usable = lba == 512 ? 2048 : 256;
  const std::uint64_t f = s.first_usable;
  s.parts = {{f, f + 100}, {f + 101, size / lba - 40}};
  return s;
}

std::vector<std::byte> read_all(const BlockSource& src) {
  std::vector<std::byte> out(static_cast<std::size_t>(src.size()));
  REQUIRE(src.read(0, out).ok());
  return out;
}

std::vector<Extent> map_all(const BlockSource& src, std::uint64_t window) {
  std::vector<Extent> out;
  for (std::uint64_t at = 0; at < src.size(); at += window)
    REQUIRE(src.map(at, std::min(window, src.size() - at), out).ok());
  return out;
}

bool all_zero(std::span<const std::byte> b) {
  return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

// Checks that `disk` holds a valid GPT whose backup is at its last LBA; returns the primary.
gpt::Header check_valid_gpt(std::vector<std::byte>& disk, std::uint64_t lba) {
  const std::uint64_t lbas = disk.size() / lba;
  auto p = gpt::decode_header(std::span(disk).subspan(lba, lba), 1, lba, lbas);
  REQUIRE(p.ok());
  CHECK(p->alternate_lba == lbas - 1);
  auto b = gpt::decode_header(std::span(disk).subspan((lbas - 1) * lba, lba), lbas - 1, lba, lbas);
  REQUIRE(b.ok());
  CHECK(b->alternate_lba == 1);
  CHECK(b->entries_crc == p->entries_crc);
  CHECK(b->last_usable_lba == p->last_usable_lba);
  CHECK(b->entries_lba == p->last_usable_lba + 1);
  CHECK(b->entries_lba + b->array_sectors(lba) == lbas - 1);
  auto pe = gpt::decode_entries(std::span(disk).subspan(p->entries_lba * lba, p->array_bytes()), *p,
                                p->entries_lba * lba);
  REQUIRE(pe.ok());
  auto be = gpt::decode_entries(std::span(disk).subspan(b->entries_lba * lba, b->array_bytes()), *b,
                                b->entries_lba * lba);
  REQUIRE(be.ok());
  CHECK(pe->size() == be->size());
  return *p;
}

}  // namespace

TEST_CASE("gpt relocate: put_patch lets the later patch win", "[gpt]") {
  std::vector<gpt::Patch> ps;
  gpt::put_patch(ps, {100, 100, {}});
  gpt::put_patch(ps, {150, 0, std::vector<std::byte>(10, std::byte{7})});
  gpt::put_patch(ps, {0, 0, std::vector<std::byte>(120, std::byte{1})});
  REQUIRE(ps.size() == 4);
  CHECK(ps[0].offset == 0);
  CHECK(ps[0].length == 120);
  CHECK(ps[1].offset == 120);
  CHECK(ps[1].length == 30);
  CHECK(ps[1].bytes.empty());
  CHECK(ps[2].offset == 150);
  CHECK(ps[2].bytes.size() == 10);
  CHECK(ps[3].offset == 160);
  CHECK(ps[3].end() == 200);
}

TEST_CASE("gpt relocate: backup moves to the new end, primary and PMBR fixed", "[gpt]") {
  const std::uint64_t size = 4 * kMiB + 7 * 512, padded = 5 * kMiB;
  const auto disk = make_gpt_disk(spec_of(size));
  MemorySource src(disk);
  auto a = gpt::plan_relocation(src, padded);
  REQUIRE(a.ok());
  REQUIRE(a->outcome == Outcome::relocated);
  const auto& r = a->relocation;
  const std::uint64_t old_last = size / 512 - 1, new_last = padded / 512 - 1;
  CHECK(r.lba_size == 512);
  CHECK(r.old_backup_lba == old_last);
  CHECK(r.new_backup_lba == new_last);
  CHECK(r.new_entries_lba == new_last - 32);
  CHECK(r.old_last_usable_lba == old_last - 33);
  CHECK(r.new_last_usable_lba == new_last - 33);
  CHECK(r.partitions == 2);
  CHECK(r.old_backup_valid);
  CHECK(r.pmbr_updated);
  CHECK_THAT(a->message, Catch::Contains("moved from LBA 8198 to the new last LBA 10239"));

  auto view = gpt::relocated_source(src, padded, r.patches);
  REQUIRE(view.ok());
  REQUIRE((*view)->size() == padded);
  auto out = read_all(**view);
  const auto p = check_valid_gpt(out, 512);
  CHECK(p.last_usable_lba == new_last - 33);
  CHECK(detail::load_le32(std::span(out).subspan(446 + 12)) == new_last);
  // Ending CHS of LBA 10239 with 255 heads and 63 sectors: cylinder 0, head 162, sector 34.
  CHECK(out[446 + 5] == std::byte{162});
  CHECK(out[446 + 6] == std::byte{34});
  CHECK(out[446 + 7] == std::byte{0});
  // The old backup array and header read as zeros; everything else outside the patched sectors
  // is the source's bytes, then zeros up to the new array.
  CHECK(all_zero(std::span(out).subspan((old_last - 32) * 512, 33 * 512)));
  CHECK(std::equal(disk.begin() + 1024, disk.begin() + (old_last - 32) * 512, out.begin() + 1024));
  CHECK(std::equal(disk.begin(), disk.begin() + 446, out.begin()));
  CHECK(all_zero(std::span(out).subspan(size, (new_last - 32) * 512 - size)));

  // The map: exact about what is data. Reads as zero wherever it says so.
  const auto map = map_all(**view, kMiB);
  std::uint64_t at = 0;
  for (const Extent& e : map) {
    CHECK(e.offset == at);
    at = e.end();
    if (e.reads_as_zero()) CHECK(all_zero(std::span(out).subspan(e.offset, e.length)));
  }
  CHECK(at == padded);
  CHECK(map.back() == Extent{(new_last - 32) * 512, 33 * 512, ExtentKind::data});
  CHECK(map[map.size() - 2].kind == ExtentKind::unallocated);
  CHECK(map[map.size() - 3] == Extent{(old_last - 32) * 512, 33 * 512, ExtentKind::zero});
}

TEST_CASE("gpt relocate: the source's holes stay holes", "[gpt]") {
  const std::uint64_t size = 3 * kMiB + 7 * 512, padded = 4 * kMiB;
  auto spec = spec_of(size);
  spec.partition_data = false;
  const auto disk = make_gpt_disk(spec);
  const std::uint64_t tail = (size / 512 - 33) * 512;
  MemorySource src(disk, {{0, 34 * 512, ExtentKind::data},
                          {34 * 512, tail - 34 * 512, ExtentKind::unallocated},
                          {tail, size - tail, ExtentKind::data}});
  auto a = gpt::plan_relocation(src, padded);
  REQUIRE(a.ok());
  REQUIRE(a->outcome == Outcome::relocated);
  auto view = gpt::relocated_source(src, padded, a->relocation.patches);
  REQUIRE(view.ok());
  const auto map = map_all(**view, padded);
  REQUIRE(map.size() == 5);
  CHECK(map[0] == Extent{0, 34 * 512, ExtentKind::data});
  CHECK(map[1] == Extent{34 * 512, tail - 34 * 512, ExtentKind::unallocated});
  CHECK(map[2] == Extent{tail, 33 * 512, ExtentKind::zero});
  CHECK(map[3].kind == ExtentKind::unallocated);  // old tail bytes past the last LBA + padding
  CHECK(map[4].kind == ExtentKind::data);
  auto out = read_all(**view);
  check_valid_gpt(out, 512);
}

TEST_CASE("gpt relocate: 4096-byte LBAs", "[gpt]") {
  const std::uint64_t size = 4 * kMiB + 3 * 4096, padded = 5 * kMiB;
  MemorySource src(make_gpt_disk(spec_of(size, 4096)));
  auto a = gpt::plan_relocation(src, padded);
  REQUIRE(a.ok());
  REQUIRE(a->outcome == Outcome::relocated);
  CHECK(a->relocation.lba_size == 4096);
  CHECK(a->relocation.new_backup_lba == padded / 4096 - 1);
  auto view = gpt::relocated_source(src, padded, a->relocation.patches);
  REQUIRE(view.ok());
  auto out = read_all(**view);
  check_valid_gpt(out, 4096);
}

TEST_CASE("gpt relocate: the end moving by fewer sectors than the array", "[gpt]") {
  const std::uint64_t padded = 5 * kMiB, size = padded - 5 * 512;
  MemorySource src(make_gpt_disk(spec_of(size)));
  auto a = gpt::plan_relocation(src, padded);
  REQUIRE(a.ok());
  REQUIRE(a->outcome == Outcome::relocated);
  auto view = gpt::relocated_source(src, padded, a->relocation.patches);
  REQUIRE(view.ok());
  auto out = read_all(**view);
  check_valid_gpt(out, 512);
}

TEST_CASE("gpt relocate: a damaged backup is rebuilt from the primary", "[gpt]") {
  const std::uint64_t size = 4 * kMiB + 7 * 512, padded = 5 * kMiB;
  auto disk = make_gpt_disk(spec_of(size));
  disk[(size / 512 - 1) * 512 + 60] ^= std::byte{1};  // backup header CRC now wrong
  MemorySource src(disk);
  auto a = gpt::plan_relocation(src, padded);
  REQUIRE(a.ok());
  REQUIRE(a->outcome == Outcome::relocated);
  CHECK_FALSE(a->relocation.old_backup_valid);
  CHECK_THAT(a->message,
             Catch::Contains("old backup was not intact") && Catch::Contains("header CRC32"));
  auto view = gpt::relocated_source(src, padded, a->relocation.patches);
  REQUIRE(view.ok());
  auto out = read_all(**view);
  check_valid_gpt(out, 512);
  CHECK(all_zero(std::span(out).subspan((size / 512 - 1) * 512, 512)));
}

TEST_CASE("gpt relocate: what is not relocated", "[gpt][hostile]") {
  const std::uint64_t size = 4 * kMiB + 7 * 512, padded = 5 * kMiB;
  SECTION("no GPT") {
    MemorySource src(pattern(static_cast<std::size_t>(size), 3));
    auto a = gpt::plan_relocation(src, padded);
    REQUIRE(a.ok());
    CHECK(a->outcome == Outcome::absent);
    CHECK(a->message.empty());
  }
  SECTION("tiny disk") {
    MemorySource src(std::vector<std::byte>(700));
    CHECK(gpt::plan_relocation(src, kMiB)->outcome == Outcome::absent);
  }
  SECTION("bad primary CRC") {
    auto disk = make_gpt_disk(spec_of(size));
    disk[512 + 60] ^= std::byte{1};
    MemorySource src(disk);
    auto a = gpt::plan_relocation(src, padded);
    REQUIRE(a.ok());
    CHECK(a->outcome == Outcome::invalid);
    CHECK(a->relocation.patches.empty());
    CHECK_THAT(a->message, Catch::Contains("gpt: header at offset 512: header CRC32") &&
                               Catch::Contains("left as it is"));
  }
  SECTION("bad array CRC") {
    auto disk = make_gpt_disk(spec_of(size));
    disk[1024 + 33] ^= std::byte{1};
    MemorySource src(disk);
    auto a = gpt::plan_relocation(src, padded);
    REQUIRE(a.ok());
    CHECK(a->outcome == Outcome::invalid);
    CHECK_THAT(a->message, Catch::Contains("partition entry array at offset 1024"));
  }
  SECTION("hostile entry count") {
    auto disk = make_gpt_disk(spec_of(size));
    edit_header(disk, 1, 512, [](gpt::Header& h) { h.entry_count = 1u << 30; });
    MemorySource src(disk);
    auto a = gpt::plan_relocation(src, padded);
    REQUIRE(a.ok());
    CHECK(a->outcome == Outcome::invalid);
    CHECK(src.bytes_read() < 64 * 1024);  // refused before reading (or allocating) an array
  }
  SECTION("backup only") {
    auto disk = make_gpt_disk(spec_of(size));
    std::fill_n(disk.begin() + 512, 512, std::byte{0});
    MemorySource src(disk);
    auto a = gpt::plan_relocation(src, padded);
    REQUIRE(a.ok());
    CHECK(a->outcome == Outcome::invalid);
    CHECK_THAT(a->message, Catch::Contains("backup GPT header at LBA 8198"));
  }
  SECTION("end does not move") {
    MemorySource src(make_gpt_disk(spec_of(4 * kMiB + 100)));
    CHECK(gpt::plan_relocation(src, 4 * kMiB + 200)->outcome == Outcome::unchanged);
  }
  SECTION("read errors are errors") {
    MemorySource src(make_gpt_disk(spec_of(size)));
    src.fail_read(2);
    CHECK(gpt::plan_relocation(src, padded).status().code() == Errc::io_error);
  }
  SECTION("bad arguments") {
    MemorySource src(make_gpt_disk(spec_of(size)));
    CHECK(gpt::plan_relocation(src, size - 1).status().code() == Errc::invalid_argument);
    CHECK(gpt::relocated_source(src, padded, {{padded - 10, 20, {}}}).status().code() ==
          Errc::invalid_argument);
    CHECK(gpt::relocated_source(src, padded, {{0, 20, {}}, {10, 20, {}}}).status().code() ==
          Errc::invalid_argument);
  }
}

TEST_CASE("gpt relocate: convert to azure moves the backup, keep_gpt does not", "[gpt]") {
  TempDir dir;
  const std::uint64_t size = 20 * kMiB + 7 * 512, padded = 21 * kMiB;
  const auto disk = make_gpt_disk(spec_of(size));
  write_file(dir / "in.raw", disk);
  ConvertOptions o;
  o.target = "azure";
  o.output.timestamp_unix = 0;
  std::vector<std::string> notes;
  o.open.on_diagnostic = [&](const Diagnostic& d) { notes.push_back(d.message); };
  auto r = convert({dir / "in.raw"}, {dir / "out.vhd"}, o);
  REQUIRE(r.ok());
  CHECK(r->source_size == size);
  CHECK(r->output_size == padded);
  CHECK(r->gpt.action == GptReport::Action::relocated);
  CHECK(r->gpt.new_backup_lba == padded / 512 - 1);
  CHECK(r->gpt.partitions == 2);
  CHECK(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("backup GPT moved") == 0 || n.find("gpt: backup GPT moved") == 0;
  }));
  auto out = read_file(dir / "out.vhd");
  REQUIRE(out.size() == padded + 512);
  out.resize(padded);
  check_valid_gpt(out, 512);

  o.output.keep_gpt = true;
  auto k = convert({dir / "in.raw"}, {dir / "kept.vhd"}, o);
  REQUIRE(k.ok());
  CHECK(k->gpt.action == GptReport::Action::kept);
  auto kept = read_file(dir / "kept.vhd");
  CHECK(std::equal(disk.begin(), disk.end(), kept.begin()));
  CHECK(all_zero(std::span(kept).subspan(size, padded - size)));

  // A disk without a GPT, and a conversion without padding.
  write_file(dir / "plain.raw", pattern(static_cast<std::size_t>(size), 9));
  o.output.keep_gpt = false;
  auto n = convert({dir / "plain.raw"}, {dir / "plain.vhd"}, o);
  REQUIRE(n.ok());
  CHECK(n->gpt.action == GptReport::Action::absent);
  o.target = "raw";
  auto raw = convert({dir / "in.raw"}, {dir / "same.raw"}, o);
  REQUIRE(raw.ok());
  CHECK(raw->gpt.action == GptReport::Action::not_checked);
}

}  // namespace vdisk::test
