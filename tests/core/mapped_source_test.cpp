// The mapped-source base (base/mapped_source.h): pieces merged as the contract says (data only at
// consecutive host offsets, special pieces never), read() and map() served from them, "below"
// through the parent and past its end, the range check and error propagation.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "test_support.h"
#include "base/mapped_source.h"

using namespace vdisk;
using vdisk::detail::MappedSource;
using vdisk::test::MemorySource;
using vdisk::test::pattern;

namespace {

using Piece = MappedSource::Piece;
constexpr std::uint64_t kUnit = 512;

// A toy image: one table entry per 512-byte unit. 'D' + host unit: stored data; 'S': a special
// unit (reads as its index byte); 'Z': zeros; '.': below. `host` holds, per unit, the unit of
// `file` it is stored at.
class ToySource final : public MappedSource {
 public:
  ToySource(std::string table, std::vector<std::uint64_t> host, std::vector<std::byte> file,
            const BlockSource* parent, ExtentKind below_kind = ExtentKind::unallocated)
      : table_(std::move(table)),
        host_(std::move(host)),
        file_(std::move(file)),
        parent_(parent),
        below_kind_(below_kind) {}

  std::uint64_t size() const override { return table_.size() * kUnit; }
  std::string_view format() const override { return "toy"; }

  mutable std::vector<std::pair<std::uint64_t, std::uint64_t>> data_reads;  // host, bytes
  mutable int special_reads = 0;
  std::uint64_t fail_walk_at = ~std::uint64_t{0};

 protected:
  Status walk(std::uint64_t offset, std::uint64_t length, PieceSink& out) const override {
    for (std::uint64_t pos = offset; pos < offset + length;) {
      const std::uint64_t u = pos / kUnit;
      if (u == fail_walk_at) return corrupt("toy: table entry broken");
      const std::uint64_t stop = std::min(offset + length, (u + 1) * kUnit);
      Piece p{Piece::Kind::below, pos, stop - pos, 0, 0};
      switch (table_[static_cast<std::size_t>(u)]) {
        case 'D':
          p.kind = Piece::Kind::data;
          p.host = host_[static_cast<std::size_t>(u)] * kUnit + pos % kUnit;
          break;
        case 'S':
          p.kind = Piece::Kind::special;
          p.extra = u;
          break;
        case 'Z':
          p.kind = Piece::Kind::zero;
          break;
        default:
          break;
      }
      VDISK_RETURN_IF_ERROR(out.emit(p));
      pos = stop;
    }
    return {};
  }
  Status read_data(std::uint64_t host, std::span<std::byte> dst) const override {
    data_reads.emplace_back(host, dst.size());
    std::memcpy(dst.data(), file_.data() + host, dst.size());
    return {};
  }
  Status read_special(const Piece& p, std::span<std::byte> dst) const override {
    ++special_reads;
    std::memset(dst.data(), static_cast<int>(p.extra + 1), dst.size());
    return {};
  }
  const BlockSource* below() const override { return parent_; }
  ExtentKind below_kind() const override { return below_kind_; }

 private:
  std::string table_;
  std::vector<std::uint64_t> host_;
  std::vector<std::byte> file_;
  const BlockSource* parent_;
  ExtentKind below_kind_;
};

// The expected virtual bytes of a toy image, unit by unit.
std::vector<std::byte> expected(const std::string& table, const std::vector<std::uint64_t>& host,
                                const std::vector<std::byte>& file,
                                const std::vector<std::byte>* parent) {
  std::vector<std::byte> out(table.size() * kUnit);
  for (std::size_t u = 0; u < table.size(); ++u) {
    auto* d = out.data() + u * kUnit;
    if (table[u] == 'D') std::memcpy(d, file.data() + host[u] * kUnit, kUnit);
    if (table[u] == 'S') std::memset(d, static_cast<int>(u + 1), kUnit);
    if (table[u] == '.' && parent && (u + 1) * kUnit <= parent->size())
      std::memcpy(d, parent->data() + u * kUnit, kUnit);
  }
  return out;
}

}  // namespace

TEST_CASE("mapped source: data pieces merge only at consecutive host offsets", "[mapped]") {
  const std::string table = "DDDDZZ..SSDD";
  const std::vector<std::uint64_t> host = {0, 1, 2, 7, 0, 0, 0, 0, 0, 0, 8, 9};
  const auto file = pattern(10 * kUnit, 3);
  ToySource src(table, host, file, nullptr);
  std::vector<std::byte> got(table.size() * kUnit);
  REQUIRE(src.read(0, got).ok());
  CHECK(got == expected(table, host, file, nullptr));
  // Units 0-2 are one read (hosts 0,1,2), unit 3 another (host 7), units 10-11 one (8,9).
  using R = std::pair<std::uint64_t, std::uint64_t>;
  CHECK(src.data_reads == std::vector<R>{{0, 3 * kUnit}, {7 * kUnit, kUnit}, {8 * kUnit, 1024}});
  CHECK(src.special_reads == 2);  // special pieces are never merged

  std::vector<Extent> map;
  REQUIRE(src.map(0, src.size(), map).ok());
  CHECK(map == std::vector<Extent>{{0, 4 * kUnit, ExtentKind::data},
                                   {4 * kUnit, 2 * kUnit, ExtentKind::zero},
                                   {6 * kUnit, 2 * kUnit, ExtentKind::unallocated},
                                   {8 * kUnit, 4 * kUnit, ExtentKind::data}});
}

TEST_CASE("mapped source: unaligned ranges read the same bytes", "[mapped]") {
  const std::string table = "D.ZSDD.Z";
  const std::vector<std::uint64_t> host = {3, 0, 0, 0, 1, 2, 0, 0};
  const auto file = pattern(4 * kUnit, 5);
  const auto parent_bytes = pattern(5 * kUnit + 100, 9);  // ends inside unit 5
  MemorySource parent(parent_bytes);
  ToySource src(table, host, file, &parent);
  const auto all = expected(table, host, file, &parent_bytes);
  for (std::uint64_t off : {0ull, 1ull, 511ull, 700ull, 1500ull}) {
    for (std::uint64_t len : {1ull, 300ull, 1024ull, 2000ull}) {
      if (off + len > src.size()) continue;
      std::vector<std::byte> got(static_cast<std::size_t>(len));
      REQUIRE(src.read(off, got).ok());
      INFO("offset " << off << " length " << len);
      CHECK(std::equal(got.begin(), got.end(), all.begin() + static_cast<std::ptrdiff_t>(off)));
    }
  }
}

TEST_CASE("mapped source: below reads and maps the parent, then below_kind past its end",
          "[mapped]") {
  const std::string table = "........";
  auto parent_bytes = pattern(3 * kUnit, 11);
  MemorySource parent(parent_bytes, {{0, kUnit, ExtentKind::data},
                                     {kUnit, kUnit, ExtentKind::zero},
                                     {2 * kUnit, kUnit, ExtentKind::data}});
  ToySource src(table, std::vector<std::uint64_t>(8), {}, &parent);
  std::vector<std::byte> got(8 * kUnit);
  REQUIRE(src.read(0, got).ok());
  CHECK(std::equal(parent_bytes.begin(), parent_bytes.end(), got.begin()));
  CHECK(std::all_of(got.begin() + 3 * kUnit, got.end(),
                    [](std::byte b) { return b == std::byte{0}; }));
  std::vector<Extent> map;
  REQUIRE(src.map(0, src.size(), map).ok());
  CHECK(map == std::vector<Extent>{{0, kUnit, ExtentKind::data},
                                   {kUnit, kUnit, ExtentKind::zero},
                                   {2 * kUnit, kUnit, ExtentKind::data},
                                   {3 * kUnit, 5 * kUnit, ExtentKind::unallocated}});
  // Without a parent: zeros, mapped as the format's below kind.
  ToySource orphan(table, std::vector<std::uint64_t>(8), {}, nullptr, ExtentKind::zero);
  map.clear();
  REQUIRE(orphan.map(kUnit, 2 * kUnit, map).ok());
  CHECK(map == std::vector<Extent>{{kUnit, 2 * kUnit, ExtentKind::zero}});
}

TEST_CASE("mapped source: ranges past the size and walk errors are returned", "[mapped]") {
  ToySource src("DD", {0, 1}, pattern(2 * kUnit, 1), nullptr);
  std::vector<std::byte> got(600);
  const Status past = src.read(500, got);
  CHECK(past.code() == Errc::out_of_range);
  CHECK(past.to_string().find("toy: read of 600 bytes at 500 past the virtual size 1024") !=
        std::string::npos);
  std::vector<Extent> map;
  CHECK(src.map(1, 1024, map).code() == Errc::out_of_range);
  src.fail_walk_at = 1;
  CHECK(src.read(0, std::span(got).first(1024)).code() == Errc::corrupt);
  CHECK(src.map(0, 1024, map).code() == Errc::corrupt);
  CHECK(src.read(0, std::span(got).first(512)).ok());  // before the broken entry
}

TEST_CASE("mapped source: special pieces without a reader are refused", "[mapped]") {
  class NoSpecial final : public MappedSource {
   public:
    std::uint64_t size() const override { return kUnit; }
    std::string_view format() const override { return "nospecial"; }

   protected:
    Status walk(std::uint64_t offset, std::uint64_t length, PieceSink& out) const override {
      return out.emit(Piece{Piece::Kind::special, offset, length, 0, 0});
    }
    Status read_data(std::uint64_t, std::span<std::byte>) const override { return {}; }
  };
  NoSpecial src;
  std::vector<std::byte> got(kUnit);
  CHECK(src.read(0, got).code() == Errc::internal);
}
