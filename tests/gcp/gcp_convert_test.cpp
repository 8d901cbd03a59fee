// --to gcp end to end: sparse raw and VHD inputs become a single-member .tar.gz with one
// disk.raw member padded to a whole GiB that GNU tar, bsdtar and Python's tarfile read back to
// the exact padded disk; sparse maps of many sizes; > 8 GiB sizes; no output on failure.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "formats/gcp/gcp.h"
#include "test_support.h"
#include "vdisk/image.h"

using namespace vdisk;
using vdisk::test::pattern;
using vdisk::test::TempDir;

namespace {

constexpr std::uint64_t kKiB = 1024, kMiB = 1024 * kKiB, kGiB = 1024 * kMiB;

struct Piece {
  std::uint64_t offset;
  std::uint64_t length;
};

// A sparse file of `size` bytes with pattern data at `pieces` (holes elsewhere).
void make_sparse(const std::filesystem::path& p, std::uint64_t size,
                 const std::vector<Piece>& pieces) {
  const int fd = ::open(p.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  std::uint32_t seed = 1;
  for (const auto& piece : pieces) {
    const auto d = pattern(static_cast<std::size_t>(piece.length), seed++);
    REQUIRE(::pwrite(fd, d.data(), d.size(), static_cast<off_t>(piece.offset)) ==
            static_cast<ssize_t>(d.size()));
  }
  REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
  ::close(fd);
}

ConvertOptions gcp_options(unsigned threads = 2) {
  ConvertOptions o;
  o.target = "gcp";
  o.sync = false;
  o.output.timestamp_unix = 1700000000;
  o.output.compress_threads = threads;
  o.pipeline.threads = threads;
  return o;
}

std::string sh(const std::string& cmd) {
  std::string out;
  INFO(cmd);
  REQUIRE(test::run(cmd, &out) == 0);
  return out;
}

// The data segments of an open file up to `size` (SEEK_DATA/SEEK_HOLE; a file system without
// hole reporting yields one segment covering everything).
std::vector<Piece> data_segments(int fd, std::uint64_t size) {
  std::vector<Piece> out;
  off_t at = 0;
  while (static_cast<std::uint64_t>(at) < size) {
    const off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0 || static_cast<std::uint64_t>(data) >= size) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || static_cast<std::uint64_t>(hole) > size) hole = static_cast<off_t>(size);
    out.push_back({static_cast<std::uint64_t>(data), static_cast<std::uint64_t>(hole - data)});
    at = hole;
  }
  return out;
}

// Whether `got` holds exactly the bytes of `in` followed by zeros up to `size` bytes. Every byte
// where either file has data is compared; elsewhere both files are holes, which read as zeros.
// Byte-exact like comparing hashes, without reading gigabytes of holes.
bool same_padded_content(const std::filesystem::path& got, const std::filesystem::path& in,
                         std::uint64_t size) {
  if (std::filesystem::file_size(got) != size) return false;
  const std::uint64_t in_size = std::filesystem::file_size(in);
  if (in_size > size) return false;
  const int gfd = ::open(got.c_str(), O_RDONLY);
  const int ifd = ::open(in.c_str(), O_RDONLY);
  REQUIRE(gfd >= 0);
  REQUIRE(ifd >= 0);
  auto segs = data_segments(gfd, size);
  for (const auto& p : data_segments(ifd, in_size)) segs.push_back(p);
  std::sort(segs.begin(), segs.end(),
            [](const Piece& a, const Piece& b) { return a.offset < b.offset; });
  std::vector<std::byte> a(kMiB), b(kMiB);
  std::uint64_t done = 0;  // bytes below this offset are compared
  bool same = true;
  for (const auto& seg : segs) {
    for (std::uint64_t at = std::max(done, seg.offset); same && at < seg.offset + seg.length;) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(kMiB, seg.offset + seg.length - at));
      REQUIRE(::pread(gfd, a.data(), n, static_cast<off_t>(at)) == static_cast<ssize_t>(n));
      std::fill(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n), std::byte{0});
      if (at < in_size) {
        const auto m = static_cast<std::size_t>(std::min<std::uint64_t>(n, in_size - at));
        REQUIRE(::pread(ifd, b.data(), m, static_cast<off_t>(at)) == static_cast<ssize_t>(m));
      }
      same = std::memcmp(a.data(), b.data(), n) == 0;
      at += n;
      done = at;
    }
  }
  ::close(gfd);
  ::close(ifd);
  return same;
}

// Extracts disk.raw with GNU tar; true when it is `in` padded with zeros to `size` bytes.
bool gnu_tar_restores(const TempDir& dir, const std::filesystem::path& tgz,
                      const std::filesystem::path& in, std::uint64_t size) {
  const auto x = dir / "x";
  std::filesystem::create_directories(x);
  sh("tar -xzf '" + tgz.string() + "' -C '" + x.string() + "'");
  REQUIRE(std::filesystem::exists(x / "disk.raw"));
  const bool same = same_padded_content(x / "disk.raw", in, size);
  std::filesystem::remove_all(x);
  return same;
}

// Whether `tgz` is a single gzip member (Python's zlib checks its CRC-32 and length) holding a
// dense GNU '0' member disk.raw of `size` bytes equal to `in` (empty: no data) padded with
// zeros, then only zero blocks. Inflated as a stream in process: a GiB is neither written to a
// file nor piped (zlib inflates the spliced zero runs ~2x faster than gzip -t).
bool python_dense_member_is(const std::filesystem::path& tgz, const std::string& in,
                            std::uint64_t size) {
  std::string out;
  const int rc = test::run(
      "python3 - '" + tgz.string() + "' '" + in + "' " + std::to_string(size) +
          " 2>&1 <<'PY'\n"
          "import sys, zlib\n"
          "tgz, src, size = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
          "ref = open(src, 'rb').read() if src else b''\n"
          "d, z = zlib.decompressobj(31), open(tgz, 'rb').read()\n"
          "def chunks():\n"
          "    global z\n"
          "    while z:\n"
          "        o = d.decompress(z, 1 << 22); z = d.unconsumed_tail\n"
          "        if o: yield o\n"
          "    assert d.eof and not d.unused_data, 'gzip: not one complete member'\n"
          "buf, at, header = b'', -512, b''\n"
          "for o in chunks():\n"
          "    if at < 0:\n"
          "        header += o[:-at]; o = o[-at:]; at = 0 if len(header) == 512 else -512 + "
          "len(header)\n"
          "        if at < 0: continue\n"
          "        assert header[:9] == b'disk.raw\\0' and header[156:157] == b'0', header[:160]\n"
          "        assert header[257:265] == b'ustar  \\0' and int(header[124:136].strip(b'\\0 '), "
          "8) == size\n"
          "    n = max(0, min(len(o), size - at))\n"
          "    want = ref[at:at + n]; want += bytes(n - len(want))\n"
          "    assert o[:n] == want, at\n"
          "    assert o[n:] == bytes(len(o) - n), 'end of archive'\n"
          "    at += len(o)\n"
          "assert at >= size + 1024, at\n"
          "print('same')\n"
          "PY",
      &out);
  INFO(out);
  return rc == 0 && out.rfind("same", 0) == 0;
}

}  // namespace

TEST_CASE("gcp convert: sparse raw becomes one sparse disk.raw member GNU tar restores",
          "[gcp][convert][interop]") {
  TempDir dir;
  const auto in = dir / "in.raw";
  make_sparse(in, 10 * kMiB + 4096, {{0, 64 * kKiB}, {3 * kMiB, 4096}, {10 * kMiB, 4096}});
  auto r = convert({in}, {dir / "out.tar.gz"}, gcp_options());
  REQUIRE(r.ok());
  CHECK(r->source_size == 10 * kMiB + 4096);
  CHECK(r->output_size == kGiB);
  CHECK(r->output_bytes == std::filesystem::file_size(dir / "out.tar.gz"));
  CHECK(r->output_bytes < 200 * kKiB);
  const std::string listing = sh("tar -tvzf '" + (dir / "out.tar.gz").string() + "'");
  CHECK(listing.find("disk.raw") != std::string::npos);
  CHECK(listing.find("1073741824") != std::string::npos);
  CHECK(listing.find('\n') == listing.size() - 1);  // exactly one member
  // Single gzip member with a sparse 'S' header of type oldgnu: GNU tar's own view.
  const std::string vv =
      sh("gzip -dc '" + (dir / "out.tar.gz").string() + "' | head -c 512 | od -An -c -j156 -N1");
  CHECK(vv.find('S') != std::string::npos);
  CHECK(gnu_tar_restores(dir, dir / "out.tar.gz", in, kGiB));
  // The comparison sees a one-byte difference in data and in a hole of either file.
  const auto other = dir / "other.raw";
  make_sparse(other, 10 * kMiB + 4096, {{0, 64 * kKiB}, {3 * kMiB, 4096}, {10 * kMiB, 4096}});
  REQUIRE(gnu_tar_restores(dir, dir / "out.tar.gz", other, kGiB));
  for (std::uint64_t at : {std::uint64_t{3 * kMiB + 100}, std::uint64_t{5 * kMiB}}) {
    make_sparse(other, 10 * kMiB + 4096, {{0, 64 * kKiB}, {3 * kMiB, 4096}, {10 * kMiB, 4096}});
    const int fd = ::open(other.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "x", 1, static_cast<off_t>(at)) == 1);
    ::close(fd);
    CHECK_FALSE(gnu_tar_restores(dir, dir / "out.tar.gz", other, kGiB));
  }
  CHECK_FALSE(gnu_tar_restores(dir, dir / "out.tar.gz", in, 2 * kGiB));
}

TEST_CASE("gcp convert: bsdtar and python tarfile read the archive", "[gcp][convert][interop]") {
  TempDir dir;
  const auto in = dir / "in.raw";
  std::vector<Piece> pieces;
  for (std::uint64_t i = 0; i < 25; ++i) pieces.push_back({i * 3 * kMiB + 8192, 8192 + i * 512});
  make_sparse(in, 80 * kMiB, pieces);
  REQUIRE(convert({in}, {dir / "out.tar.gz"}, gcp_options()).ok());
  const auto tgz = (dir / "out.tar.gz").string();
  // Both extract the sparse member with seeks, so the holes stay holes and the comparison only
  // reads data.
  const auto xb = dir / "xb", xp = dir / "xp";
  std::filesystem::create_directories(xb);
  sh("bsdtar -xf '" + tgz + "' -C '" + xb.string() + "'");
  CHECK(same_padded_content(xb / "disk.raw", in, kGiB));
  CHECK(sh("python3 -c 'import tarfile,sys\n"
           "t=tarfile.open(sys.argv[1],\"r:gz\"); m=t.getmembers()\n"
           "assert len(m)==1 and m[0].name==\"disk.raw\" and m[0].issparse(), m\n"
           "t.extract(m[0], sys.argv[2]); print(\"ok\")' '" +
           tgz + "' '" + xp.string() + "'")
            .substr(0, 2) == "ok");
  CHECK(same_padded_content(xp / "disk.raw", in, kGiB));
  CHECK(sh("gzip -t '" + tgz + "' && echo ok").substr(0, 2) == "ok");
}

TEST_CASE("gcp convert: sparse maps of 0, 1, 4, 5, 25 and thousands of regions round-trip",
          "[gcp][convert][interop]") {
  for (std::size_t count : {0u, 1u, 4u, 5u, 25u, 3000u}) {
    CAPTURE(count);
    TempDir dir;
    const auto in = dir / "in.raw";
    std::vector<Piece> pieces;
    for (std::uint64_t i = 0; i < count; ++i) pieces.push_back({i * 96 * kKiB + 4096, 4096});
    make_sparse(in, 300 * kMiB, pieces);
    auto o = gcp_options();
    REQUIRE(convert({in}, {dir / "out.tar.gz"}, o).ok());
    // The regions the writer planned are what the file system reports: one per piece.
    auto src = open_image(in);
    REQUIRE(src.ok());
    auto plan = gcp::plan_regions(**src, kGiB, gcp::WriterOptions{}, 0);
    REQUIRE(plan.ok());
    CHECK(plan->size() == count);
    CHECK(gnu_tar_restores(dir, dir / "out.tar.gz", in, kGiB));
  }
}

TEST_CASE("gcp convert: sizes above 8 GiB use base-256 and read back", "[gcp][convert][interop]") {
  TempDir dir;
  const auto in = dir / "in.raw";
  const std::uint64_t size = 9 * kGiB + 4096;
  make_sparse(in, size, {{kMiB, 4096}, {9 * kGiB - 4096, 8192}});
  REQUIRE(convert({in}, {dir / "big.tar.gz"}, gcp_options()).ok());
  const auto tgz = (dir / "big.tar.gz").string();
  CHECK(sh("tar -tvzf '" + tgz + "'").find("10737418240") != std::string::npos);
  // Python reads the sparse member with seeks, so only the data and a few holes are touched.
  const auto d1 = pattern(4096, 1), d2 = pattern(8192, 2);
  test::write_file(dir / "d1", d1);
  test::write_file(dir / "d2", d2);
  CHECK(sh("python3 -c 'import tarfile,sys\n"
           "t=tarfile.open(sys.argv[1],\"r:gz\"); m=t.getmember(\"disk.raw\")\n"
           "assert m.size==10*2**30 and m.issparse()\n"
           "f=t.extractfile(m)\n"
           "f.seek(2**20); assert f.read(4096)==open(sys.argv[2],\"rb\").read()\n"
           "f.seek(9*2**30-4096); assert f.read(8192)==open(sys.argv[3],\"rb\").read()\n"
           "f.seek(5*2**30); assert f.read(65536)==bytes(65536)\n"
           "f.seek(10*2**30-4096); assert f.read(8192)==bytes(4096)\n"
           "print(\"ok\")' '" +
           tgz + "' '" + (dir / "d1").string() + "' '" + (dir / "d2").string() + "'")
            .substr(0, 2) == "ok");
}

namespace {

// The tarball for `src` through the public building blocks: prepare_disk, create_target, copy.
Status write_gcp(const BlockSource& src, std::unique_ptr<ByteSink> out, unsigned threads,
                 PipelineOptions po = {}) {
  TargetOptions to;
  to.compress_threads = threads;
  to.timestamp_unix = 1700000000;
  VDISK_ASSIGN_OR_RETURN(auto disk, prepare_disk("gcp", src, to));
  VDISK_ASSIGN_OR_RETURN(auto sink, create_target("gcp", std::move(out), *disk.disk, to));
  return copy(*disk.disk, *sink, po).status();
}

// The member the gcp target plans for `src`.
gcp::MemberSpec planned_member(const BlockSource& src) {
  auto disk = prepare_disk("gcp", src, {});
  REQUIRE(disk.ok());
  auto spec =
      gcp::plan_member(disk->disk->size(), disk->disk.get(), gcp::WriterOptions{}, 1ull << 30);
  REQUIRE(spec.ok());
  return *spec;
}

}  // namespace

TEST_CASE("gcp convert: a disk without holes is a plain '0' member", "[gcp][convert][interop]") {
  TempDir dir;
  auto data = pattern(2 * kMiB, 5);
  test::MemorySource src(data);  // one data extent, then the GiB padding hole
  const auto member = planned_member(src);
  CHECK(member.sparse);  // 2 MiB of data then a hole up to 1 GiB
  CHECK(member.regions.size() == 1);
  // Exactly 1 GiB of data: no hole at all.
  class ZeroDisk final : public BlockSource {  // 1 GiB mapped as data, reading as zeros
   public:
    std::uint64_t size() const override { return kGiB; }
    Status read(std::uint64_t, std::span<std::byte> dst) const override {
      std::memset(dst.data(), 0, dst.size());
      return {};
    }
    std::string_view format() const override { return "zeros"; }
  } full;
  const auto full_member = planned_member(full);
  CHECK_FALSE(full_member.sparse);
  CHECK(gcp::stored_bytes(full_member) == kGiB);
  std::vector<std::byte> gz2;
  REQUIRE(write_gcp(full, memory_sink(&gz2), 2).ok());
  CHECK(gz2.size() < 2 * kMiB);  // zeros were spliced, not compressed
  test::write_file(dir / "full.tar.gz", gz2);
  const std::string listing =
      sh("gzip -dc '" + (dir / "full.tar.gz").string() + "' | head -c 512 | od -An -c -j156 -N1");
  CHECK(listing.find('0') != std::string::npos);
  CHECK(python_dense_member_is(dir / "full.tar.gz", "", kGiB));
}

TEST_CASE("gcp convert: output is identical for any thread count", "[gcp][convert]") {
  TempDir dir;
  const auto in = dir / "in.raw";
  make_sparse(in, 40 * kMiB, {{0, 3 * kMiB}, {5 * kMiB, 1 * kMiB}, {20 * kMiB, 7 * kMiB}});
  REQUIRE(convert({in}, {dir / "a.tar.gz"}, gcp_options(1)).ok());
  REQUIRE(convert({in}, {dir / "b.tar.gz"}, gcp_options(4)).ok());
  CHECK(test::read_file(dir / "a.tar.gz") == test::read_file(dir / "b.tar.gz"));
}

TEST_CASE("gcp convert: the default level is kDefaultGcpLevel (ISA-L 2), not the VMDK's 6",
          "[gcp][convert]") {
  TempDir dir;
  const auto in = dir / "in.raw";
  {
    // Compressible but not trivial: text-like lines with varying numbers.
    std::string text;
    for (std::uint64_t i = 0; text.size() < 6 * kMiB; ++i)
      text += fmt::format("line {} of {}\n", i * 7919 % 100003, i);
    std::vector<std::byte> bytes(text.size());
    std::memcpy(bytes.data(), text.data(), text.size());
    test::write_file(in, bytes);
  }
  auto at_level = [&](int level, const char* name) {
    ConvertOptions o = gcp_options();
    if (level >= 0)
      REQUIRE(set_target_option("gcp", o.output, "level", std::to_string(level)).ok());
    REQUIRE(convert({in}, {dir / name}, o).ok());
    return test::read_file(dir / name);
  };
  STATIC_REQUIRE(kDefaultGcpLevel == 2);
  const auto dflt = at_level(-1, "default.tar.gz");
  CHECK(dflt == at_level(2, "two.tar.gz"));
  CHECK(dflt != at_level(6, "six.tar.gz"));
  CHECK(sh("tar -xzOf '" + (dir / "default.tar.gz").string() + "' disk.raw | head -c " +
           std::to_string(std::filesystem::file_size(in)) + " | cmp - '" + in.string() +
           "' && echo same")
            .substr(0, 4) == "same");
}

TEST_CASE("gcp convert: VHD input converts to the same disk content", "[gcp][convert][interop]") {
  TempDir dir;
  const auto in = dir / "in.raw";
  make_sparse(in, 30 * kMiB, {{kMiB, 2 * kMiB}, {25 * kMiB, 4096}});
  auto vo = gcp_options();
  vo.target = "vhd";
  REQUIRE(convert({in}, {dir / "in.vhd"}, vo).ok());
  auto r = convert({dir / "in.vhd"}, {dir / "out.tar.gz"}, gcp_options());
  REQUIRE(r.ok());
  CHECK(r->source_format == "vhd");
  CHECK(gnu_tar_restores(dir, dir / "out.tar.gz", in, kGiB));
}

TEST_CASE("gcp convert: a read error mid-stream leaves no output", "[gcp][convert]") {
  TempDir dir;
  test::MemorySource src(pattern(64 * kMiB, 3));
  src.fail_read(5);
  FileSinkOptions fo;
  fo.sync = false;
  auto out = create_file_sink(dir / "out.tar.gz", fo);
  REQUIRE(out.ok());
  PipelineOptions po;
  po.threads = 2;
  po.chunk_bytes = 1 * kMiB;
  CHECK(write_gcp(src, std::move(*out), 2, po).code() == Errc::io_error);
  CHECK_FALSE(std::filesystem::exists(dir / "out.tar.gz"));
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++n;
  CHECK(n == 0);  // no temporary left behind either
}

TEST_CASE("gcp convert: a raw stream of unknown size is refused clearly", "[gcp][convert]") {
  TempDir dir;
  auto r = convert({"<stdin>", memory_stream(pattern(4096, 1))}, {dir / "o.tar.gz"}, gcp_options());
  CHECK(r.status().code() == Errc::unsupported);
  CHECK(r.status().message().find("size") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "o.tar.gz"));
}

TEST_CASE("gcp convert: a sized stream gives a dense member, padded by the view",
          "[gcp][convert]") {
  // A stream whose size is known: the BlockSink path used for stdin formats that state a size.
  class SizedStream final : public StreamSource {
   public:
    explicit SizedStream(std::vector<std::byte> d) : d_(std::move(d)) {}
    std::optional<std::uint64_t> size() const override { return d_.size(); }
    Result<std::size_t> read(std::span<std::byte> dst) override {
      const std::size_t n = std::min(dst.size(), d_.size() - at_);
      std::memcpy(dst.data(), d_.data() + at_, n);
      at_ += n;
      return n;
    }
    std::string_view format() const override { return "sized"; }

   private:
    std::vector<std::byte> d_;
    std::size_t at_ = 0;
  };
  TempDir dir;
  auto data = pattern(3 * kMiB, 8);
  std::memset(data.data() + kMiB, 0, kMiB + 4096);
  test::write_file(dir / "in.raw", data);
  SizedStream s(data);
  std::vector<std::byte> gz;
  TargetOptions to;
  to.compress_threads = 2;
  auto view = prepare_stream("gcp", s, to);
  REQUIRE(view.ok());
  REQUIRE((*view)->size() == kGiB);
  // The sink takes only a padded size.
  CHECK(create_target("gcp", memory_sink(&gz), data.size(), to).status().code() ==
        Errc::invalid_argument);
  auto sink = create_target("gcp", memory_sink(&gz), (*view)->size(), to);
  REQUIRE(sink.ok());
  REQUIRE(copy(**view, **sink).ok());
  test::write_file(dir / "d.tar.gz", gz);
  CHECK(gz.size() < 4 * kMiB);
  // A dense member extracts as a GiB of written bytes: read it as a stream instead of writing it
  // to a file. The comparison sees a one-byte change inside a zero run.
  CHECK(python_dense_member_is(dir / "d.tar.gz", (dir / "in.raw").string(), kGiB));
  data[kMiB + 4096 + 5] ^= std::byte{1};
  test::write_file(dir / "in2.raw", data);
  CHECK_FALSE(python_dense_member_is(dir / "d.tar.gz", (dir / "in2.raw").string(), kGiB));
  CHECK_FALSE(python_dense_member_is(dir / "d.tar.gz", (dir / "in.raw").string(), 2 * kGiB));
}
