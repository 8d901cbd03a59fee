// Reading well-formed VDI images made by the test builder: dynamic and static images, free,
// zero and allocated blocks in any slot order, block extra data, odd and partial-block disk
// sizes, exact maps without data reads on a 2 TiB image, describe(), the refusal of
// differencing and undo images, and the builder's output as qemu-img reads it. qemu-made images
// are covered by interop.vdi_read.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "test_support.h"
#include "vdi_builder.h"
#include "vdisk/image.h"

using namespace vdisk;
using vdisk::test::map_disk;
using vdisk::test::pattern;
using vdisk::test::read_disk;
using Bytes = std::vector<std::byte>;

namespace {

std::unique_ptr<BlockSource> open_vdi(const Bytes& b, const OpenOptions& o = {}) {
  return test::open_memory(b, o, "<test.vdi>");
}

constexpr std::uint64_t kBs = 4096;
constexpr std::uint32_t kZero = 0xFFFFFFFE;  // block map: a zero block (0xFFFFFFFF: free)

// Counts the bytes read through it.
class CountingFile final : public RandomAccessFile {
 public:
  CountingFile(std::unique_ptr<RandomAccessFile> f, std::atomic<std::uint64_t>& n)
      : f_(std::move(f)), n_(n) {}
  std::uint64_t size() const override { return f_->size(); }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    n_ += dst.size();
    return f_->read_at(offset, dst);
  }
  const std::string& name() const override { return f_->name(); }

 private:
  std::unique_ptr<RandomAccessFile> f_;
  std::atomic<std::uint64_t>& n_;
};

void put(Bytes& want, std::uint64_t block, const Bytes& data) {
  std::memcpy(want.data() + block * kBs, data.data(),
              std::min<std::size_t>(data.size(), want.size() - block * kBs));
}

}  // namespace

TEST_CASE("vdi: free, zero and allocated blocks read and map exactly", "[vdi]") {
  test::VdiBuilder b({});
  const Bytes b0 = pattern(kBs, 1), b1 = pattern(kBs, 2), b6 = pattern(kBs, 3),
              b4 = pattern(kBs, 4);
  b.add_block(0, b0);
  b.add_block(1, b1);  // slot 1 follows slot 0: one read
  b.add_block(6, b6);  // slots out of virtual order
  b.add_block(4, b4);
  b.set_entry(3, kZero);
  auto src = open_vdi(b.bytes());
  CHECK(src->format() == "vdi");
  CHECK(src->size() == 8 * kBs);
  Bytes want(8 * kBs);
  put(want, 0, b0);
  put(want, 1, b1);
  put(want, 4, b4);
  put(want, 6, b6);
  CHECK(read_disk(*src) == want);
  const std::vector<Extent> expect = {
      {0, 2 * kBs, ExtentKind::data},          {2 * kBs, kBs, ExtentKind::unallocated},
      {3 * kBs, kBs, ExtentKind::zero},        {4 * kBs, kBs, ExtentKind::data},
      {5 * kBs, kBs, ExtentKind::unallocated}, {6 * kBs, kBs, ExtentKind::data},
      {7 * kBs, kBs, ExtentKind::unallocated}};
  CHECK(map_disk(*src) == expect);
  // Unaligned reads and maps across block boundaries.
  Bytes part(5000);
  REQUIRE(src->read(kBs - 100, part).ok());
  CHECK(std::memcmp(part.data(), want.data() + kBs - 100, part.size()) == 0);
  REQUIRE(src->read(4 * kBs + 7, part).ok());
  CHECK(std::memcmp(part.data(), want.data() + 4 * kBs + 7, part.size()) == 0);
  std::vector<Extent> m;
  REQUIRE(src->map(kBs + 10, 2 * kBs, m).ok());
  CHECK(m == std::vector<Extent>{{kBs + 10, kBs - 10, ExtentKind::data},
                                 {2 * kBs, kBs, ExtentKind::unallocated},
                                 {3 * kBs, 10, ExtentKind::zero}});
  Bytes two(2);
  CHECK(src->read(8 * kBs - 1, two).code() == Errc::out_of_range);
  CHECK(src->map(1, 8 * kBs, m).code() == Errc::out_of_range);
}

TEST_CASE("vdi: a static image is every block in order", "[vdi]") {
  test::VdiSpec spec;
  spec.type = 2;
  spec.disk_size = 5 * kBs + 1024;  // the last block is partly past the disk's end
  test::VdiBuilder b(spec);
  const Bytes b2 = pattern(kBs, 9);
  Bytes img = b.bytes();
  std::memcpy(img.data() + b.data_offset() + 2 * kBs, b2.data(), kBs);
  auto src = open_vdi(img);
  CHECK(src->size() == spec.disk_size);
  Bytes want(spec.disk_size);
  put(want, 2, b2);
  CHECK(read_disk(*src) == want);
  CHECK(map_disk(*src) == std::vector<Extent>{{0, spec.disk_size, ExtentKind::data}});
  CHECK(describe(*src).get("image_type") == "static");
  // The file may end where the disk does (the last block's tail past it is not stored).
  img.resize(img.size() - (kBs - 1024));
  CHECK(read_disk(*open_vdi(img)) == want);
}

TEST_CASE("vdi: block extra data is skipped", "[vdi]") {
  test::VdiSpec spec;
  spec.block_extra = 512;
  test::VdiBuilder b(spec);
  const Bytes b0 = pattern(kBs, 5), b1 = pattern(kBs, 6);
  b.add_block(1, b1);
  b.add_block(0, b0);
  auto src = open_vdi(b.bytes());
  Bytes want(spec.disk_size);
  put(want, 0, b0);
  put(want, 1, b1);
  CHECK(read_disk(*src) == want);
  CHECK(describe(*src).get("block_extra") == "512");
}

TEST_CASE("vdi: an odd disk size reads as qemu reads it, rounded up to a sector", "[vdi]") {
  test::VdiSpec spec;
  spec.disk_size = 2 * kBs + 100;
  test::VdiBuilder b(spec);
  const Bytes b2 = pattern(kBs, 7);
  b.add_block(2, b2);
  std::vector<Diagnostic> diags;
  OpenOptions o;
  o.on_diagnostic = [&](const Diagnostic& d) { diags.push_back(d); };
  auto src = open_vdi(b.bytes(), o);
  CHECK(src->size() == 2 * kBs + 512);
  const Bytes all = read_disk(*src);
  CHECK(std::memcmp(all.data() + 2 * kBs, b2.data(), 512) == 0);
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].message.find("not a multiple of 512") != std::string::npos);
  CHECK(describe(*src).get("disk_size") == std::to_string(spec.disk_size));
}

TEST_CASE("vdi: a 2 TiB dynamic image maps from its block map alone", "[vdi]") {
  test::VdiSpec spec;
  spec.block_size = 1 << 20;
  spec.disk_size = 2ull << 40;
  test::VdiBuilder b(spec);
  const Bytes first = pattern(1 << 20, 1), last = pattern(1 << 20, 2);
  b.add_block(0, first);
  b.add_block(b.blocks() - 1, last);
  const Bytes img = b.bytes();
  std::atomic<std::uint64_t> n{0};
  auto r = open_image(std::make_unique<CountingFile>(memory_file(img), n), {}, {});
  REQUIRE(r.ok());
  const BlockSource& s = **r;
  const std::uint64_t after_open = n.load();
  CHECK(after_open <= b.data_offset() + (68 << 10));  // the probe, header and map only
  const auto m = map_disk(s);
  CHECK(m == std::vector<Extent>{{0, 1 << 20, ExtentKind::data},
                                 {1 << 20, spec.disk_size - (2 << 20), ExtentKind::unallocated},
                                 {spec.disk_size - (1 << 20), 1 << 20, ExtentKind::data}});
  CHECK(n.load() == after_open);  // map() reads nothing
  Bytes got(1 << 20);
  for (const Extent& e : m)
    if (e.kind == ExtentKind::data) REQUIRE(s.read(e.offset, got).ok());
  CHECK(n.load() == after_open + (2 << 20));  // exactly the data
  CHECK(got == last);
}

TEST_CASE("vdi: describe names the header's facts, sanitised", "[vdi]") {
  test::VdiSpec spec;
  spec.header_size = 0x190;
  spec.comment = "backup\x01 disk \xff";
  test::VdiBuilder b(spec);
  auto src = open_vdi(b.bytes());
  const Properties p = describe(*src);
  CHECK(p.get("format") == "vdi");
  CHECK(p.get("image_type") == "dynamic");
  CHECK(p.get("header_version") == "1.1");
  CHECK(p.get("header_size") == "400");
  CHECK(p.get("block_size") == "4096");
  CHECK(p.get("blocks") == "8");
  CHECK(p.get("allocated_blocks") == "0");
  CHECK(p.get("comment") == "backup? disk \xef\xbf\xbd");
  CHECK(p.get("pre_header") == "<<< QEMU VM Virtual Disk Image >>>");
  // Bytes 01..10: Data1 0x04030201 little-endian, Data2 0x0605, Data3 0x0807, then as stored.
  CHECK(p.get("uuid") == "04030201-0605-0807-090a-0b0c0d0e0f10");
  CHECK(p.get("modification_uuid") == "44434241-4645-4847-494a-4b4c4d4e4f50");
  CHECK(p.get("parent_uuid").empty());
  const Properties* g = p.get_object("geometry");
  REQUIRE(g != nullptr);
  CHECK(g->get("heads") == "16");
  CHECK(g->get("sectors") == "63");
}

TEST_CASE("vdi: differencing and undo images are refused with what to do", "[vdi]") {
  for (std::uint32_t type : {3u, 4u}) {
    test::VdiSpec spec;
    spec.type = type;
    spec.parent_uuids = true;
    auto r = open_image(memory_file(test::VdiBuilder(spec).bytes()), {}, {});
    INFO(r.status().to_string());
    CHECK(r.status().code() == Errc::unsupported);
    const std::string m = r.status().message();
    CHECK(m.rfind(type == 4 ? "vdi: a differencing image" : "vdi: an undo image", 0) == 0);
    CHECK(m.find("parent UUID 84838281-8685-8887-898a-8b8c8d8e8f90") != std::string::npos);
    CHECK(m.find(".vbox") != std::string::npos);
    CHECK(m.find("VBoxManage clonemedium") != std::string::npos);
    CHECK(m.find('\n') == std::string::npos);
  }
}

TEST_CASE("vdi: a base image that records a parent is read with a warning", "[vdi]") {
  test::VdiSpec spec;
  spec.parent_uuids = true;
  test::VdiBuilder b(spec);
  b.add_block(0, pattern(kBs, 3));
  std::vector<Diagnostic> diags;
  OpenOptions o;
  o.on_diagnostic = [&](const Diagnostic& d) { diags.push_back(d); };
  auto src = open_vdi(b.bytes(), o);
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].level == Diagnostic::Level::warning);
  CHECK(diags[0].message.find("parent UUID") != std::string::npos);
  CHECK(describe(*src).get("parent_uuid") == "84838281-8685-8887-898a-8b8c8d8e8f90");
}

TEST_CASE("vdi: concurrent reads agree", "[vdi]") {
  test::VdiSpec spec;
  spec.disk_size = 64 * kBs;
  test::VdiBuilder b(spec);
  Bytes want(spec.disk_size);
  for (std::uint32_t bi = 63;; bi -= 3) {
    const Bytes d = pattern(kBs, bi + 10);
    b.add_block(bi, d);
    put(want, bi, d);
    if (bi < 3) break;
  }
  auto src = open_vdi(b.bytes());
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Bytes got(3 * kBs + 11);
      for (std::uint64_t off = static_cast<std::uint64_t>(t) * 97; off + got.size() <= want.size();
           off += 5 * kBs + 1)
        if (!src->read(off, got).ok() || std::memcmp(got.data(), want.data() + off, got.size()))
          ++bad;
    });
  for (auto& th : threads) th.join();
  CHECK(bad == 0);
}

TEST_CASE("vdi: the builder's images read the same in qemu-img", "[vdi][qemu]") {
  if (test::run("command -v qemu-img > /dev/null") != 0) {
    WARN("qemu-img not installed");
    return;
  }
  test::TempDir dir;
  for (std::uint32_t type : {1u, 2u}) {
    test::VdiSpec spec;
    spec.type = type;
    spec.block_size = 1 << 20;  // the only block size qemu reads
    spec.disk_size = 5 << 20;
    test::VdiBuilder b(spec);
    if (type == 1) {
      b.add_block(3, pattern(1 << 20, 1));
      b.add_block(0, pattern(1 << 20, 2));
      b.set_entry(1, kZero);
    }
    const auto path = dir / fmt::format("t{}.vdi", type);
    test::write_file(path, b.bytes());
    auto src = open_image(path);
    REQUIRE(src.ok());
    test::write_file(dir / "ours.raw", read_disk(**src));
    REQUIRE(test::run(fmt::format("qemu-img convert -f vdi -O raw '{}' '{}'", path.string(),
                                  (dir / "q.raw").string())) == 0);
    CHECK(test::sha256_file(dir / "ours.raw") == test::sha256_file(dir / "q.raw"));
    std::string info;
    REQUIRE(test::run(fmt::format("qemu-img info --output=json '{}'", path.string()), &info) == 0);
    CHECK(info.find(fmt::format("\"virtual-size\": {}", (*src)->size())) != std::string::npos);
  }
}
