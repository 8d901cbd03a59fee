// The VMDK writer (formats/vmdk/vmdk_writer.h): streamOptimized layout B decoded back (header, markers,
// GT/GD, footer trio), table sizing at the edges, round trips through libvdisk's reader (file and
// stream), determinism across thread counts, levels, check and descriptor lint, errors.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>

#include <fmt/format.h>

#include "formats/raw/raw.h"
#include "test_support.h"
#include "base/zero.h"
#include "vdisk/image.h"
#include "vdisk/pipeline.h"
#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"
#include "formats/vmdk/doctor/vmdk_check.h"
#include "formats/vmdk/vmdk_format.h"
#include "formats/vmdk/vmdk_stream.h"
#include "formats/vmdk/vmdk_writer.h"

using namespace vdisk;
using namespace vdisk::vmdk;
using vdisk::test::pattern;

namespace {

constexpr std::uint64_t kG = 64 * 1024;
constexpr std::uint64_t kS = 512;

WriterOptions options(Subformat f = Subformat::stream_optimized, int level = 1,
                      unsigned threads = 2) {
  WriterOptions o;
  o.subformat = f;
  o.level = level;
  o.threads = threads;
  o.file_name = "disk.vmdk";
  for (std::size_t i = 0; i < o.uuid.size(); ++i) o.uuid[i] = static_cast<std::uint8_t>(i * 17);
  return o;
}

// Feeds `disk` in chunks of `chunk` bytes, all-zero chunks as write_zeroes().
Status feed(BlockSink& sink, std::span<const std::byte> disk, std::size_t chunk) {
  for (std::size_t at = 0; at < disk.size(); at += chunk) {
    const auto part = disk.subspan(at, std::min(chunk, disk.size() - at));
    VDISK_RETURN_IF_ERROR(detail::is_zero(part) ? sink.write_zeroes(at, part.size())
                                                : sink.write(at, part));
  }
  return sink.finish();
}

std::vector<std::byte> write_image(std::span<const std::byte> disk, const WriterOptions& o,
                                   std::size_t chunk = 100 * 1024) {
  std::vector<std::byte> img;
  auto w = make_writer(memory_sink(&img), disk.size(), o);
  REQUIRE(w.ok());
  const Status st = feed(**w, disk, chunk);
  INFO(st.to_string());
  REQUIRE(st.ok());
  return img;
}

// A disk of `size` bytes: pattern data with zero holes (whole grains, partial grains, a table).
std::vector<std::byte> holey_disk(std::size_t size, std::uint32_t seed) {
  auto d = pattern(size, seed);
  auto zero = [&](std::size_t at, std::size_t n) {
    if (at < d.size()) std::memset(d.data() + at, 0, std::min(n, d.size() - at));
  };
  zero(kG, 3 * kG);           // whole grains
  zero(5 * kG + 4096, 8192);  // inside a grain
  zero(8 * kG - 512, 1024);   // across a grain boundary
  zero(20 * kG, 600 * kG);    // more than a table's range
  return d;
}

std::vector<std::byte> read_as_file(std::vector<std::byte> img) {
  OpenOptions o;
  o.format = "vmdk";
  auto r = open_image(memory_file(std::move(img)), {}, o);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  std::vector<std::byte> out(static_cast<std::size_t>((*r)->size()));
  REQUIRE((*r)->read(0, out).ok());
  return out;
}

std::vector<std::byte> read_as_stream(std::vector<std::byte> img) {
  auto s = open_image_stream(memory_stream(std::move(img), "<stdin>"), {});
  INFO(s.status().to_string());
  REQUIRE(s.ok());
  std::vector<std::byte> out, buf(192 * 1024);
  for (;;) {
    auto n = (*s)->read(buf);
    INFO(n.status().to_string());
    REQUIRE(n.ok());
    if (*n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return out;
}

// The stream's pieces placed by LBA (PlacedStream), as `vdconvert convert` reads a pipe.
std::vector<std::byte> read_placed(std::vector<std::byte> img, std::size_t size) {
  auto s = open_stream_optimized(memory_stream(std::move(img), "<stdin>"), {});
  REQUIRE(s.ok());
  std::vector<std::byte> out;
  auto sink = raw::make_sink(memory_sink(&out));
  PipelineOptions o;
  o.threads = 2;
  o.place_pieces = true;
  auto st = copy(**s, *sink, o);
  INFO(st.status().to_string());
  REQUIRE(st.ok());
  out.resize(size);
  return out;
}

// What a front-to-back walk of a stream file finds after overHead.
struct Walk {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> grains;  // (lba, marker sector)
  std::vector<std::uint64_t> gts;                               // sector of each GT
  std::uint64_t gd = 0, gd_sectors = 0, footer = 0;
  bool eos = false;
};
Walk walk(std::span<const std::byte> img) {
  Walk w;
  const auto h = decode_sparse_header(img.first(kS), 0);
  REQUIRE(h.ok());
  for (std::uint64_t at = h->overhead * kS; at < img.size();) {
    REQUIRE(at + kS <= img.size());
    const Marker m = decode_marker(img.subspan(at, 16));
    if (m.is_grain()) {
      w.grains.emplace_back(m.value, at / kS);
      at += (kGrainMarkerHeader + m.size + kS - 1) / kS * kS;
      continue;
    }
    const auto t = static_cast<MarkerType>(m.type);
    if (t == MarkerType::eos) {
      w.eos = true;
      CHECK(at + kS == img.size());
      break;
    }
    if (t == MarkerType::grain_table) {
      CHECK(m.value == 4);
      w.gts.push_back(at / kS + 1);
    } else if (t == MarkerType::grain_directory) {
      w.gd = at / kS + 1;
      w.gd_sectors = m.value;
    } else if (t == MarkerType::footer) {
      CHECK(m.value == 1);
      w.footer = at / kS + 1;
    }
    at += (1 + m.value) * kS;
  }
  return w;
}

std::uint32_t le32(std::span<const std::byte> img, std::uint64_t at) {
  std::uint32_t v = 0;
  for (std::uint64_t i = 4; i-- > 0;) v = v << 8 | std::to_integer<std::uint32_t>(img[at + i]);
  return v;
}

std::string descriptor_of(std::span<const std::byte> img) {
  std::string t(reinterpret_cast<const char*>(img.data()) + kS, 20 * kS);
  return t.substr(0, t.find('\0'));
}

// A ByteSink over memory that fails its n-th write() (1-based) and records finish().
class FailingSink final : public ByteSink {
 public:
  FailingSink(std::uint64_t fail_at, bool* finished) : fail_at_(fail_at), finished_(finished) {}
  Status write(std::span<const std::byte> d) override {
    if (++writes_ == fail_at_) return io_error("test: write failed");
    bytes_.insert(bytes_.end(), d.begin(), d.end());
    return {};
  }
  Status write_zeroes(std::uint64_t n) override {
    bytes_.resize(bytes_.size() + n);
    return {};
  }
  std::uint64_t position() const override { return bytes_.size(); }
  Status finish() override {
    *finished_ = true;
    return {};
  }

 private:
  std::uint64_t fail_at_, writes_ = 0;
  bool* finished_;
  std::vector<std::byte> bytes_;
};

// A sink that keeps no bytes: counts them (huge disks) and accepts positional writes.
class CountingSink final : public ByteSink {
 public:
  Status write(std::span<const std::byte> d) override {
    pos_ += d.size();
    nonzero_ += detail::is_zero(d) ? 0 : d.size();
    return {};
  }
  Status write_zeroes(std::uint64_t n) override {
    pos_ += n;
    return {};
  }
  std::uint64_t position() const override { return pos_; }
  Status finish() override { return {}; }
  bool can_write_at() const override { return true; }
  Status write_at(std::uint64_t, std::span<const std::byte>) override { return {}; }
  std::uint64_t pos_ = 0, nonzero_ = 0;
};

}  // namespace

TEST_CASE("vmdk writer: header, markers, tables and footer decode back", "[vmdk][writer]") {
  // Grains 0, 2 and 600 (second table) hold data, the last one partial.
  std::vector<std::byte> d(600 * kG + 3 * kS);
  const auto p = pattern(d.size(), 5);
  std::memcpy(d.data(), p.data(), kG);
  std::memcpy(d.data() + 2 * kG + 100, p.data(), 10);
  std::memcpy(d.data() + 600 * kG, p.data(), 3 * kS);
  const auto img = write_image(d, options());
  REQUIRE(img.size() % kS == 0);

  const auto h = decode_sparse_header(std::span(img).first(kS), 0);
  REQUIRE(h.ok());
  CHECK(h->version == 3);
  CHECK(h->flags == 0x00030001u);
  CHECK(h->capacity == d.size() / kS);
  CHECK(h->grain_size == 128);
  CHECK(h->num_gtes_per_gt == 512);
  CHECK(h->descriptor_offset == 1);
  CHECK(h->descriptor_size == 20);
  CHECK(h->gd_offset == kGdAtEnd);
  CHECK(h->rgd_offset == 0);
  CHECK(h->overhead == 21);
  CHECK(h->compress_algorithm == 1);
  CHECK(h->unclean_shutdown == 0);

  const auto footer =
      decode_footer_trio(std::span(img).last(kFooterTrioBytes), img.size() - kFooterTrioBytes);
  REQUIRE(footer.ok());
  CHECK(check_footer_agrees(*h, *footer, img.size() - 2 * kS).ok());

  const Walk w = walk(img);
  CHECK(w.eos);
  CHECK(w.footer == img.size() / kS - 2);
  CHECK(w.gd == footer->gd_offset);
  CHECK(w.gd_sectors == 1);
  REQUIRE(w.grains.size() == 3);
  CHECK(w.grains[0].first == 0);
  CHECK(w.grains[1].first == 2 * 128);
  CHECK(w.grains[2].first == 600 * 128);
  CHECK(w.grains[0].second == 21);
  REQUIRE(w.gts.size() == 2);
  // GD entries point at the GTs; GTEs at the grain markers; each GT follows its grains.
  CHECK(le32(img, w.gd * kS) == w.gts[0]);
  CHECK(le32(img, w.gd * kS + 4) == w.gts[1]);
  CHECK(le32(img, w.gts[0] * kS) == w.grains[0].second);
  CHECK(le32(img, w.gts[0] * kS + 4) == 0);
  CHECK(le32(img, w.gts[0] * kS + 8) == w.grains[1].second);
  CHECK(le32(img, w.gts[1] * kS + 88 * 4) == w.grains[2].second);
  CHECK(w.gts[0] > w.grains[1].second);
  CHECK(w.gts[0] < w.grains[2].second);
  // Grain data is zlib-framed; the partial last grain inflates to the disk's bytes only.
  const auto m = decode_marker(std::span(img).subspan(w.grains[2].second * kS, 16));
  const auto packed = std::span(img).subspan(w.grains[2].second * kS + kGrainMarkerHeader, m.size);
  CHECK(looks_like_zlib(packed));
  std::vector<std::byte> last(3 * kS);
  REQUIRE(inflate_grain(packed, last, 0).ok());
  CHECK(std::memcmp(last.data(), p.data(), last.size()) == 0);
}

TEST_CASE("vmdk writer: GD and GT sizing at the edges", "[vmdk][writer]") {
  struct Case {
    std::uint64_t bytes, grains, gts;
  };
  for (const Case c :
       {Case{kS, 1, 1}, Case{kG + kS, 2, 1}, Case{512 * kG, 512, 1}, Case{512 * kG + kS, 513, 2}}) {
    INFO("disk of " << c.bytes << " bytes");
    const auto t = writer::tables_for(c.bytes / kS);
    CHECK(t.grains == c.grains);
    CHECK(t.gts == c.gts);
    CHECK(t.gd_sectors == 1);
    const auto d = pattern(c.bytes, 9);
    for (Subformat f : {Subformat::stream_optimized, Subformat::monolithic_sparse}) {
      const auto img = write_image(d, options(f, 1));
      if (f == Subformat::stream_optimized) {
        const Walk w = walk(img);
        CHECK(w.grains.size() == c.grains);
        CHECK(w.gts.size() == c.gts);
        CHECK(w.gd_sectors == 1);
      } else {
        const auto e = estimate_size(c.bytes, c.grains, options(f));
        REQUIRE(e.ok());
        CHECK(img.size() == e->upper_bound);
      }
      CHECK((read_as_file(img) == d));
    }
  }
}

TEST_CASE("vmdk writer: a 2 TiB disk of zeros materialises nothing", "[vmdk][writer]") {
  constexpr std::uint64_t k2T = 2ull << 40;
  std::vector<std::byte> img;
  auto w = make_writer(memory_sink(&img), k2T, options());
  REQUIRE(w.ok());
  REQUIRE((*w)->write_zeroes(0, k2T).ok());
  REQUIRE((*w)->finish().ok());
  const auto t = writer::tables_for(k2T / kS);
  CHECK(t.gts == 65536);  // GD entries
  CHECK(t.gd_sectors == 512);
  CHECK(img.size() == (21 + 1 + 512 + 3) * kS);
  const Walk wk = walk(img);
  CHECK(wk.grains.empty());
  CHECK(wk.gts.empty());
  CHECK(wk.gd == 22);
  CHECK(wk.gd_sectors == 512);
  CHECK(detail::is_zero(std::span(img).subspan(wk.gd * kS, 512 * kS)));
  const auto e = estimate_size(k2T, 0, options());
  REQUIRE(e.ok());
  CHECK(e->metadata_bytes == img.size());
  // Readable, and reads as zeros (a few spots).
  OpenOptions o;
  o.format = "vmdk";
  auto r = open_image(memory_file(img), {}, o);
  REQUIRE(r.ok());
  CHECK((*r)->size() == k2T);
  std::vector<std::byte> buf(4096, std::byte{1});
  REQUIRE((*r)->read(k2T - 4096, buf).ok());
  CHECK(detail::is_zero(buf));

  // monolithicSparse stops below 2 TiB (u32 sectors address the file); its largest disk works
  // without storing the tables' zeros.
  CHECK(
      make_writer(memory_sink(&img), k2T, options(Subformat::monolithic_sparse)).status().code() ==
      Errc::invalid_argument);
  const std::uint64_t max = max_disk_size(Subformat::monolithic_sparse);
  auto counting = std::make_unique<CountingSink>();
  CountingSink* c = counting.get();
  auto ws = make_writer(std::move(counting), max, options(Subformat::monolithic_sparse));
  REQUIRE(ws.ok());
  REQUIRE((*ws)->write_zeroes(0, max).ok());
  REQUIRE((*ws)->finish().ok());
  const auto es = estimate_size(max, 0, options(Subformat::monolithic_sparse));
  REQUIRE(es.ok());
  CHECK(c->pos_ == es->upper_bound);
  CHECK(c->pos_ == writer::sparse_overhead(max / kS) * kS);
}

TEST_CASE("vmdk writer: round trip with zero holes, file and stream, both subformats",
          "[vmdk][writer]") {
  for (std::uint64_t size : {700 * kG, 700 * kG + 7 * kS}) {
    const auto d = holey_disk(size, 77);
    for (Subformat f : {Subformat::stream_optimized, Subformat::monolithic_sparse}) {
      for (std::size_t chunk : {std::size_t{kG}, std::size_t{1000 * kS}, std::size_t{3 << 20}}) {
        INFO("size " << size << " subformat " << subformat_name(f) << " chunk " << chunk);
        const auto img = write_image(d, options(f), chunk);
        CHECK((read_as_file(img) == d));
        if (f == Subformat::stream_optimized) CHECK((read_as_stream(img) == d));
        if (f == Subformat::stream_optimized && chunk == kG)
          CHECK((read_placed(img, d.size()) == d));
      }
    }
  }
}

TEST_CASE("vmdk writer: output is identical for 1 and 3 threads", "[vmdk][writer]") {
  const auto d = holey_disk(900 * kG + kS, 3);
  for (int level : {0, 6, 9}) {
    INFO("level " << level);
    const auto a = write_image(d, options(Subformat::stream_optimized, level, 1));
    const auto b = write_image(d, options(Subformat::stream_optimized, level, 3), 7 * kS);
    CHECK((a == b));
  }
}

TEST_CASE("vmdk writer: every level writes a valid image, 0 stores, 9 is smallest",
          "[vmdk][writer]") {
  // Compressible content: text-like pattern.
  std::vector<std::byte> d(40 * kG);
  for (std::size_t i = 0; i < d.size(); ++i)
    d[i] = static_cast<std::byte>(static_cast<std::size_t>("the quick brown fox jumps "[i % 26]) +
                                  (i / 4096) % 3);
  std::vector<std::size_t> sizes;
  for (int level = 0; level <= 9; ++level) {
    INFO("level " << level);
    const auto img = write_image(d, options(Subformat::stream_optimized, level));
    CHECK((read_as_file(img) == d));
    CHECK((read_as_stream(img) == d));
    sizes.push_back(img.size());
  }
  CHECK(sizes[0] > d.size());  // stored blocks
  CHECK(sizes[9] <= sizes[1]);
  CHECK(sizes[6] < d.size() / 4);
}

TEST_CASE("vmdk writer: check passes and the descriptor lints clean", "[vmdk][writer][lint]") {
  const auto d = holey_disk(100 * kG + kS, 12);
  for (Subformat f : {Subformat::stream_optimized, Subformat::monolithic_sparse}) {
    for (const char* adapter : {"ide", "buslogic", "lsilogic", "legacyESX"}) {
      for (bool identity : {true, false}) {
        INFO(subformat_name(f) << " adapter " << adapter << " identity keys " << identity);
        WriterOptions o = options(f);
        o.adapter = adapter;
        o.identity_keys = identity;
        const auto img = write_image(d, o);
        const std::string text = descriptor_of(img);
        auto desc = parse_descriptor(text);
        REQUIRE(desc.ok());
        CHECK(desc->get("createType") == std::string(subformat_name(f)));
        CHECK(desc->get("ddb.adapterType") == std::string(adapter));
        CHECK(desc->get("CID") == fmt::format("{:08x}", writer::derive_cid(o.uuid)));
        CHECK(desc->get("ddb.toolsVersion") == std::string("2147483647"));
        CHECK(!desc->find("ddb.toolsInstallType"));
        REQUIRE(desc->extents().size() == 1);
        CHECK(desc->extents()[0].sectors == d.size() / kS);
        if (identity) {
          CHECK(desc->get("ddb.uuid") ==
                std::string("00 11 22 33 44 55 66 77-88 99 aa bb cc dd ee ff"));
          CHECK(desc->get("ddb.longContentID")->size() == 32);
        }
        LintOptions lo;
        lo.area_bytes = 20 * kS;
        std::set<std::string> mvmc_keys;
        for (const auto& finding : lint_descriptor(*desc, text, lo)) {
          INFO(finding.rule << ": " << finding.detail);
          CHECK(finding.consumers == unsigned{kMvmc});
          mvmc_keys.insert(finding.key);
        }
        // MVMC's whitelist lacks the identity keys; nothing else is flagged for anyone.
        CHECK(mvmc_keys == (identity ? std::set<std::string>{"ddb.uuid", "ddb.longContentID"}
                                     : std::set<std::string>{}));
        for (const char* target : {"vmdk", "qemu", "virtualbox", "esxi", "mvmc"}) {
          auto r = check_vmdk_file(memory_file(img), "disk.vmdk", target);
          REQUIRE(r.ok());
          for (const auto& item : r->items) {
            INFO(target << ": " << item.id << " " << item.rule << ": " << item.detail);
            // The MVMC lint rule (in the "vmdk" and "mvmc" targets) names the identity keys.
            if (identity && item.id == "vmdk.lint.mvmc-ddb-entry") {
              CHECK_THAT(item.detail,
                         Catch::Contains("ddb.uuid") || Catch::Contains("ddb.longContentID"));
              continue;
            }
            CHECK(item.passed);
          }
        }
      }
    }
  }
}

TEST_CASE("vmdk writer: descriptor identities and geometry", "[vmdk][writer]") {
  std::array<std::uint8_t, 16> u{};
  std::set<std::uint32_t> cids;
  for (int i = 0; i < 2000; ++i) {
    u[0] = static_cast<std::uint8_t>(i);
    u[1] = static_cast<std::uint8_t>(i >> 8);
    const std::uint32_t cid = writer::derive_cid(u);
    CHECK(cid < 0xfffffffeu);
    cids.insert(cid);
  }
  CHECK(cids.size() == 2000);
  auto g = writer::geometry_for(1, "ide");
  CHECK((g.cylinders == 1 && g.heads == 16 && g.sectors == 63));
  g = writer::geometry_for(1ull << 32, "ide");
  CHECK(g.cylinders == 16383);
  g = writer::geometry_for(1ull << 32, "lsilogic");
  CHECK((g.cylinders == 65535 && g.heads == 255));
  g = writer::geometry_for(255 * 63 * 10 + 1, "buslogic");
  CHECK(g.cylinders == 11);
}

TEST_CASE("vmdk writer: bad options and sizes are refused", "[vmdk][writer]") {
  std::vector<std::byte> img;
  auto refuse = [&](std::uint64_t size, const WriterOptions& o) {
    return make_writer(memory_sink(&img), size, o).status().code();
  };
  CHECK(refuse(0, options()) == Errc::invalid_argument);
  CHECK(refuse(1000, options()) == Errc::invalid_argument);
  CHECK(refuse(max_disk_size(Subformat::stream_optimized) + kS, options()) ==
        Errc::invalid_argument);
  WriterOptions o = options();
  o.adapter = "pvscsi";
  CHECK(refuse(kG, o) == Errc::invalid_argument);
  o = options();
  o.hw_version = 3;
  CHECK(refuse(kG, o) == Errc::invalid_argument);
  o.hw_version = 22;
  CHECK(refuse(kG, o) == Errc::invalid_argument);
  o = options();
  o.level = 10;
  CHECK(refuse(kG, o) == Errc::invalid_argument);
  o = options();
  o.file_name = "a\"b.vmdk";
  CHECK(refuse(kG, o) == Errc::invalid_argument);
  o.file_name = "dir/b.vmdk";
  CHECK(refuse(kG, o) == Errc::invalid_argument);
  CHECK(parse_subformat("streamOptimized").ok());
  CHECK(*parse_subformat("monolithicSparse") == Subformat::monolithic_sparse);
  CHECK(parse_subformat("streamoptimized").status().code() == Errc::invalid_argument);
  CHECK(parse_subformat("monolithicFlat").status().code() == Errc::invalid_argument);
  // An output that cannot write at offsets (a pipe) cannot take monolithicSparse.
  bool finished = false;
  auto st = make_writer(std::make_unique<FailingSink>(0, &finished), kG,
                        options(Subformat::monolithic_sparse))
                .status();
  CHECK(st.code() == Errc::unsupported);
  CHECK_THAT(st.message(), Catch::Contains("seekable output file") &&
                               Catch::Contains("streamOptimized for a pipe"));
  // The default file name.
  o = options();
  o.file_name.clear();
  const auto def = write_image(pattern(kG, 1), o);
  CHECK_THAT(descriptor_of(def), Catch::Contains("RW 128 SPARSE \"disk.vmdk\""));
}

TEST_CASE("vmdk writer: an output error leaves the sink failed and unfinished", "[vmdk][writer]") {
  const auto d = pattern(300 * kG, 8);
  for (std::uint64_t fail_at : {1u, 2u, 3u, 5u}) {
    INFO("write " << fail_at << " fails");
    bool finished = false;
    auto w = make_writer(std::make_unique<FailingSink>(fail_at, &finished), d.size(),
                         options(Subformat::stream_optimized, 1, 2));
    if (!w.ok()) {  // the header was the failing write
      CHECK(w.status().code() == Errc::io_error);
      continue;
    }
    Status first;
    for (std::size_t at = 0; at < d.size() && first.ok(); at += kG)
      first = (*w)->write(at, std::span(d).subspan(at, kG));
    if (first.ok()) first = (*w)->finish();
    CHECK(first.code() == Errc::io_error);
    CHECK((*w)->finish().code() == Errc::io_error);  // sticky
    CHECK(!finished);
  }
}

TEST_CASE("vmdk writer: calls out of order are refused", "[vmdk][writer]") {
  std::vector<std::byte> img;
  for (Subformat f : {Subformat::stream_optimized, Subformat::monolithic_sparse}) {
    auto w = make_writer(memory_sink(&img), 4 * kG, options(f));
    REQUIRE(w.ok());
    const auto p = pattern(kG, 2);
    REQUIRE((*w)->write(0, p).ok());
    CHECK((*w)->write(2 * kG, p).code() == Errc::internal);
    CHECK((*w)->finish().code() == Errc::internal);
    auto w2 = make_writer(memory_sink(&img), 4 * kG, options(f));
    REQUIRE((*w2)->write(0, p).ok());
    CHECK((*w2)->finish().code() == Errc::internal);  // disk not written whole
  }
}

TEST_CASE("vmdk writer: estimate_size bounds the stream output", "[vmdk][writer]") {
  const auto d = pattern(200 * kG + kS, 4);  // incompressible: the worst case
  const auto img = write_image(d, options(Subformat::stream_optimized, 6));
  const auto e = estimate_size(d.size(), 201, options());
  REQUIRE(e.ok());
  CHECK(img.size() <= e->upper_bound);
  CHECK(img.size() > e->metadata_bytes);
  CHECK(estimate_size(d.size(), 202, options()).status().code() == Errc::invalid_argument);
}

TEST_CASE("vmdk writer: into a file, read and checked by path", "[vmdk][writer]") {
  vdisk::test::TempDir dir;
  const auto d = holey_disk(300 * kG + 3 * kS, 21);
  for (Subformat f : {Subformat::stream_optimized, Subformat::monolithic_sparse}) {
    INFO(subformat_name(f));
    const auto path = dir / std::string(subformat_name(f)).append(".vmdk");
    FileSinkOptions fo;
    fo.sync = false;
    auto out = create_file_sink(path, fo);
    REQUIRE(out.ok());
    WriterOptions o = options(f, 6, 2);
    o.file_name = path.filename().string();
    auto w = make_writer(std::move(*out), d.size(), o);
    REQUIRE(w.ok());
    REQUIRE(feed(**w, d, 64 * 1024 + 512).ok());
    auto r = open_image(path);
    REQUIRE(r.ok());
    std::vector<std::byte> back(d.size());
    REQUIRE((*r)->read(0, back).ok());
    CHECK((back == d));
    auto report = check_vmdk(path);
    REQUIRE(report.ok());
    for (const auto& item : report->items) {
      INFO(item.id << ": " << item.detail);
      if (item.id != "vmdk.lint.mvmc-ddb-entry") CHECK(item.passed);
    }
  }
}
