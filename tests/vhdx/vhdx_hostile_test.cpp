// Hostile VHDX images: each breaks one structure of a well-formed builder image and expects a
// one-line refusal naming it (or, for a damaged copy of a duplicated structure, the other copy).
#include "test_support.h"
#include "vhdx_test_util.h"

using namespace vdisk;
using namespace vdisk::test;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;

Status open_status(const Bytes& img, OpenOptions o = {}) {
  auto r = try_open(img, std::move(o));
  return r.ok() ? Status{} : r.status();
}

void expect_refused(const Bytes& img, Errc code, std::string_view words) {
  const Status s = open_status(img);
  INFO(s.to_string());
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == code);
  CHECK(s.message().find(words) != std::string::npos);
  CHECK(s.message().find('\n') == std::string::npos);
}

VhdxBuilder dynamic_image() {
  VhdxBuilder b(VhdxSpec{});
  b.add_block(0, pattern(kMiB, 1));
  b.add_block(1, pattern(kMiB, 2));
  return b;
}

// Rewrites the 8-byte value at `off` in both region tables and fixes their CRCs.
void set_region_field(Bytes& img, std::uint64_t rel, std::uint64_t v, bool wide = true) {
  for (int t = 0; t < 2; ++t) {
    if (wide)
      put64(img, VhdxBuilder::kRegionTable[t] + rel, v);
    else
      put32(img, VhdxBuilder::kRegionTable[t] + rel, static_cast<std::uint32_t>(v));
    VhdxBuilder::fix_region_crc(img, t);
  }
}

}  // namespace

TEST_CASE("vhdx: damaged headers", "[vhdx][hostile]") {
  const Bytes good = dynamic_image().bytes();
  const Bytes disk = read_all(*open_bytes(good));
  SECTION("one bad copy: the other is used, with a warning") {
    for (int h = 0; h < 2; ++h) {
      Bytes img = good;
      img[VhdxBuilder::kHeader[h] + 200] ^= std::byte{1};
      std::vector<std::string> warnings;
      OpenOptions o;
      o.on_diagnostic = [&](const Diagnostic& d) { warnings.push_back(d.message); };
      CHECK(read_all(*open_bytes(img, o)) == disk);
      REQUIRE(warnings.size() == 1);
      CHECK(warnings[0].find("damaged") != std::string::npos);
    }
  }
  SECTION("both bad") {
    Bytes img = good;
    for (int h = 0; h < 2; ++h) img[VhdxBuilder::kHeader[h] + 200] ^= std::byte{1};
    expect_refused(img, Errc::corrupt, "CRC-32C");
  }
  SECTION("equal sequence numbers with different contents") {
    Bytes img = good;
    put64(img, VhdxBuilder::kHeader[1] + 8, 1000);
    img[VhdxBuilder::kHeader[1] + 16] ^= std::byte{1};  // a different FileWriteGuid
    VhdxBuilder::fix_header_crc(img, 1);
    expect_refused(img, Errc::corrupt, "sequence");
  }
  SECTION("version 2") {
    Bytes img = good;
    for (int h = 0; h < 2; ++h) {
      img[VhdxBuilder::kHeader[h] + 66] = std::byte{2};
      VhdxBuilder::fix_header_crc(img, h);
    }
    expect_refused(img, Errc::unsupported, "version");
  }
  SECTION("a file shorter than the header section") {
    expect_refused(Bytes(good.begin(), good.begin() + 300000), Errc::corrupt, "truncated");
  }
}

TEST_CASE("vhdx: damaged region tables", "[vhdx][hostile]") {
  const Bytes good = dynamic_image().bytes();
  SECTION("table 1 bad: table 2 is used") {
    Bytes img = good;
    img[VhdxBuilder::kRegionTable[0] + 1000] ^= std::byte{1};
    CHECK(open_status(img).ok());
    img[VhdxBuilder::kRegionTable[1] + 1000] ^= std::byte{1};
    expect_refused(img, Errc::corrupt, "region table");
  }
  SECTION("the metadata region overlapping the BAT") {
    Bytes img = good;
    set_region_field(img, 16 + 32 + 16, VhdxBuilder::kBatOffset);
    expect_refused(img, Errc::corrupt, "overlapping");
  }
  SECTION("the BAT overlapping the log") {
    Bytes img = good;
    set_region_field(img, 16 + 16, VhdxBuilder::kLogOffset);
    expect_refused(img, Errc::corrupt, "overlapping");
  }
  SECTION("an unaligned region") {
    Bytes img = good;
    set_region_field(img, 16 + 16, VhdxBuilder::kBatOffset + 4096);
    expect_refused(img, Errc::corrupt, "1 MiB-aligned");
  }
  SECTION("an unknown required region") {
    Bytes img = good;
    for (int t = 0; t < 2; ++t) {
      const std::uint64_t at = VhdxBuilder::kRegionTable[t];
      put32(img, at + 8, 3);
      img[at + 16 + 64] = std::byte{0x42};
      put64(img, at + 16 + 64 + 16, 64 * kMiB);
      put32(img, at + 16 + 64 + 24, static_cast<std::uint32_t>(kMiB));
      put32(img, at + 16 + 64 + 28, 1);
      VhdxBuilder::fix_region_crc(img, t);
    }
    expect_refused(img, Errc::unsupported, "unknown region");
    for (int t = 0; t < 2; ++t) {
      put32(img, VhdxBuilder::kRegionTable[t] + 16 + 64 + 28, 0);
      VhdxBuilder::fix_region_crc(img, t);
    }
    CHECK(open_status(img).ok());  // not required: ignored
  }
  SECTION("too many entries") {
    Bytes img = good;
    set_region_field(img, 8, 5000, false);
    expect_refused(img, Errc::corrupt, "entry count");
  }
}

TEST_CASE("vhdx: damaged BAT entries", "[vhdx][hostile]") {
  VhdxBuilder b = dynamic_image();
  const Bytes good = b.bytes();
  SECTION("a block past the end of the file") {
    Bytes img = good;
    put64(img, b.entry_offset(b.bat_index(2)), (100 * kMiB) | 6);
    expect_refused(img, Errc::corrupt, "inside the");
  }
  SECTION("a block ending past the end of the file") {
    Bytes img = good;
    put64(img, b.entry_offset(b.bat_index(2)), (img.size() - kMiB / 2) / kMiB * kMiB | 6);
    expect_refused(img, Errc::corrupt, "BAT entry");
  }
  SECTION("two blocks at one offset") {
    Bytes img = good;
    std::copy_n(img.begin() + static_cast<std::ptrdiff_t>(b.entry_offset(0)), 8,
                img.begin() + static_cast<std::ptrdiff_t>(b.entry_offset(b.bat_index(3))));
    expect_refused(img, Errc::corrupt, "overlaps the block of entry 0");
  }
  SECTION("a block inside the metadata region") {
    Bytes img = good;
    put64(img, b.entry_offset(b.bat_index(3)), b.metadata_offset() | 6);
    expect_refused(img, Errc::corrupt, "overlaps");
  }
  SECTION("state 4, and partially present without a parent") {
    Bytes img = good;
    put64(img, b.entry_offset(b.bat_index(3)), 4);
    expect_refused(img, Errc::corrupt, "payload state 4");
    put64(img, b.entry_offset(b.bat_index(3)), 0);
    img[b.entry_offset(0)] = std::byte{
        static_cast<unsigned char>((std::to_integer<unsigned>(img[b.entry_offset(0)]) & ~7u) | 7u)};
    expect_refused(img, Errc::corrupt, "without a parent");
  }
  SECTION("a virtual size the BAT region cannot map") {
    Bytes img = good;
    put64(img, b.item_offset(1), std::uint64_t{64} << 40);
    expect_refused(img, Errc::corrupt, "BAT region expected at least");
    put64(img, b.item_offset(1), (std::uint64_t{64} << 40) + 512);
    expect_refused(img, Errc::corrupt, "virtual disk size");
  }
}

TEST_CASE("vhdx: damaged metadata", "[vhdx][hostile]") {
  VhdxBuilder b = dynamic_image();
  const Bytes good = b.bytes();
  SECTION("an item past its region") {
    Bytes img = good;
    put32(img, b.item_entry_offset(2) + 16, static_cast<std::uint32_t>(2 * kMiB));
    expect_refused(img, Errc::corrupt, "metadata table");
  }
  SECTION("an item inside the table") {
    Bytes img = good;
    put32(img, b.item_entry_offset(2) + 16, 32);
    expect_refused(img, Errc::corrupt, "metadata table");
  }
  SECTION("two items overlapping") {
    Bytes img = good;
    put32(img, b.item_entry_offset(2) + 16,
          static_cast<std::uint32_t>(b.item_offset(1) - b.metadata_offset()));
    expect_refused(img, Errc::corrupt, "overlapping");
  }
  SECTION("an unknown required item, and an unknown optional one") {
    Bytes img = good;
    put32(img, b.metadata_offset() + 8, 0);
    img[b.metadata_offset() + 10] = std::byte{6};
    const std::uint64_t e = b.metadata_offset() + 32 + 5 * 32;
    img[e] = std::byte{0x77};
    put32(img, e + 24, 4);
    expect_refused(img, Errc::unsupported, "unknown item");
    put32(img, e + 24, 0);
    CHECK(open_status(img).ok());
  }
  SECTION("a missing required item") {
    Bytes img = good;
    img[b.metadata_offset() + 10] = std::byte{4};  // drops the physical sector size
    expect_refused(img, Errc::corrupt, "physical sector size item expected");
  }
  SECTION("field values") {
    Bytes img = good;
    put32(img, b.item_offset(0), 3 * kMiB);
    expect_refused(img, Errc::corrupt, "block size");
    img = good;
    put32(img, b.item_offset(3), 1000);
    expect_refused(img, Errc::corrupt, "sector size");
    img = good;
    put64(img, b.item_offset(1), 0);
    expect_refused(img, Errc::corrupt, "virtual disk size");
    img = good;
    put32(img, b.item_offset(0) + 4, 2);  // has a parent, but no locator
    expect_refused(img, Errc::corrupt, "no parent locator");
  }
  SECTION("a parent locator whose keys lie outside it") {
    VhdxSpec spec;
    spec.has_parent = true;
    spec.locator = {{"parent_linkage", "{x}"}, {"relative_path", "p.vhdx"}};
    VhdxBuilder c(spec);
    Bytes img = c.bytes();
    put32(img, c.item_offset(5) + 20 + 12 + 4, 60000);
    expect_refused(img, Errc::corrupt, "parent locator");
  }
}
