// I/O layer: exact reads, hole maps, atomic file sinks (temp + rename), no-overwrite, stdout
// style fd sinks, and the full-disk path.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "test_support.h"
#include "vdisk/io.h"

using namespace vdisk;
using vdisk::test::pattern;
using vdisk::test::read_file;
using vdisk::test::TempDir;

namespace {
std::size_t entries_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_CASE("io: read_at reads exactly or fails with out_of_range", "[io]") {
  auto f = memory_file(pattern(1000, 1));
  std::vector<std::byte> buf(100);
  CHECK(f->read_at(900, buf).ok());
  CHECK(f->read_at(901, buf).code() == Errc::out_of_range);
  CHECK(f->read_at(~std::uint64_t{0} - 10, buf).code() == Errc::out_of_range);
}

TEST_CASE("io: open_file reports a missing file as not_found", "[io]") {
  TempDir dir;
  auto f = open_file(dir / "nope");
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == Errc::not_found);
  CHECK(f.status().message().find("nope") != std::string::npos);
}

TEST_CASE("io: open_file refuses a directory", "[io]") {
  TempDir dir;
  CHECK(open_file(dir.path()).status().code() == Errc::invalid_argument);
}

TEST_CASE("io: regular-file holes are reported as unallocated extents", "[io]") {
  TempDir dir;
  const auto path = dir / "sparse.raw";
  {
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    auto data = pattern(64 * 1024, 2);
    REQUIRE(::pwrite(fd, data.data(), data.size(), 16 << 20) == 65536);
    REQUIRE(::ftruncate(fd, 64 << 20) == 0);
    ::close(fd);
  }
  auto f = open_file(path);
  REQUIRE(f.ok());
  std::vector<Extent> map;
  REQUIRE((*f)->allocation(0, 64 << 20, map).ok());
  REQUIRE_FALSE(map.empty());
  std::uint64_t data = 0, pos = 0;
  for (const auto& e : map) {
    CHECK(e.offset == pos);
    pos = e.end();
    if (e.kind == ExtentKind::data) data += e.length;
  }
  CHECK(pos == 64u << 20);
  CHECK(data >= 64 * 1024);
  CHECK(data <= 1u << 20);  // file systems allocate in blocks, never the whole 64 MiB
}

TEST_CASE("io: a file sink appears under its name only after finish", "[io][sink]") {
  TempDir dir;
  const auto path = dir / "out.img";
  auto sink = create_file_sink(path, {});
  REQUIRE(sink.ok());
  auto data = pattern(4096, 3);
  REQUIRE((*sink)->write(data).ok());
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(entries_in(dir.path()) == 1);  // the hidden temporary
  REQUIRE((*sink)->finish().ok());
  CHECK(std::filesystem::exists(path));
  CHECK(entries_in(dir.path()) == 1);
  CHECK(read_file(path) == data);
}

namespace {
// Pages of `path` in the page cache, one flag per 4 KiB page (mincore of a mapping).
std::vector<bool> cached_pages(const std::filesystem::path& path, std::size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(m != MAP_FAILED);
  std::vector<unsigned char> v((size + 4095) / 4096);
  REQUIRE(::mincore(m, size, v.data()) == 0);
  ::munmap(m, size);
  std::vector<bool> out;
  for (unsigned char c : v) out.push_back(c & 1);
  return out;
}
}  // namespace

TEST_CASE("io: a durable file sink writes large aligned pieces past the page cache", "[io][sink]") {
  TempDir dir;
  const auto path = dir / "out.img";
  FileSinkOptions o;
  o.sync = true;
  auto sink = create_file_sink(path, o);
  REQUIRE(sink.ok());
  constexpr std::size_t kMiB = 1u << 20;
  // A 4 KiB-aligned buffer, as the pipeline's chunk buffers are.
  std::unique_ptr<std::byte, decltype(&std::free)> buf(
      static_cast<std::byte*>(std::aligned_alloc(4096, 4 * kMiB)), &std::free);
  REQUIRE(buf);
  const auto bytes = pattern(4 * kMiB, 7);
  std::memcpy(buf.get(), bytes.data(), bytes.size());
  const std::span<const std::byte> all(buf.get(), 4 * kMiB);
  std::vector<std::byte> want(8 * kMiB + 8192 + 512);
  auto put = [&](std::uint64_t at, std::span<const std::byte> d) {
    std::memcpy(want.data() + at, d.data(), d.size());
  };
  // Direct candidates: 2 MiB at 0 (write), 1 MiB at 6 MiB (write_at, ahead of the position).
  REQUIRE((*sink)->write(all.first(2 * kMiB)).ok());
  put(0, all.first(2 * kMiB));
  REQUIRE((*sink)->write_at(6 * kMiB, all.subspan(kMiB, kMiB)).ok());
  put(6 * kMiB, all.subspan(kMiB, kMiB));
  // Buffered: small, unaligned pointer, unaligned length, then a tail of 8 KiB + 512 bytes.
  REQUIRE((*sink)->write(all.subspan(100, 4096)).ok());
  put(2 * kMiB, all.subspan(100, 4096));
  REQUIRE((*sink)->write(all.subspan(8192, kMiB + 100)).ok());
  put(2 * kMiB + 4096, all.subspan(8192, kMiB + 100));
  REQUIRE((*sink)->write_at(8 * kMiB, all.subspan(3 * kMiB, 8192 + 512)).ok());
  put(8 * kMiB, all.subspan(3 * kMiB, 8192 + 512));
  REQUIRE((*sink)->extend_to(want.size()).ok());
  REQUIRE((*sink)->finish().ok());
  const auto cached = cached_pages(path, want.size());  // before reading it back
  CHECK(read_file(path) == want);
  // On ext4 and XFS the direct pieces never entered the page cache; the buffered ones did.
  struct statfs fs;
  REQUIRE(::statfs(dir.path().c_str(), &fs) == 0);
  if (fs.f_type == 0xEF53 || fs.f_type == 0x58465342) {
    CHECK_FALSE(cached[0]);
    CHECK_FALSE(cached[6 * kMiB / 4096]);
    CHECK(cached[2 * kMiB / 4096]);
    CHECK(cached[8 * kMiB / 4096]);
  }
}

TEST_CASE("io: an unfinished file sink leaves nothing behind", "[io][sink]") {
  TempDir dir;
  {
    auto sink = create_file_sink(dir / "out.img", {});
    REQUIRE(sink.ok());
    REQUIRE((*sink)->write(pattern(4096, 3)).ok());
  }
  CHECK(entries_in(dir.path()) == 0);
}

TEST_CASE("io: an existing output is refused without overwrite and kept", "[io][sink]") {
  TempDir dir;
  const auto path = dir / "out.img";
  vdisk::test::write_file(path, pattern(10, 1));
  auto sink = create_file_sink(path, {});
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.status().code() == Errc::already_exists);
  CHECK(read_file(path) == pattern(10, 1));
}

TEST_CASE("io: overwrite replaces an existing output on finish", "[io][sink]") {
  TempDir dir;
  const auto path = dir / "out.img";
  vdisk::test::write_file(path, pattern(10, 1));
  FileSinkOptions o;
  o.overwrite = true;
  auto sink = create_file_sink(path, o);
  REQUIRE(sink.ok());
  REQUIRE((*sink)->write(pattern(20, 2)).ok());
  CHECK(read_file(path) == pattern(10, 1));  // untouched until finish
  REQUIRE((*sink)->finish().ok());
  CHECK(read_file(path) == pattern(20, 2));
}

TEST_CASE("io: a file created at the destination meanwhile is not clobbered", "[io][sink]") {
  TempDir dir;
  const auto path = dir / "out.img";
  auto sink = create_file_sink(path, {});
  REQUIRE(sink.ok());
  REQUIRE((*sink)->write(pattern(20, 2)).ok());
  vdisk::test::write_file(path, pattern(10, 1));
  auto s = (*sink)->finish();
  CHECK(s.code() == Errc::already_exists);
  CHECK(read_file(path) == pattern(10, 1));
  sink->reset();
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("io: zero runs become holes and trailing zeros keep the size", "[io][sink]") {
  TempDir dir;
  const auto path = dir / "sparse.img";
  auto sink = create_file_sink(path, {});
  REQUIRE(sink.ok());
  REQUIRE((*sink)->write(pattern(4096, 1)).ok());
  REQUIRE((*sink)->write_zeroes(256u << 20).ok());
  REQUIRE((*sink)->finish().ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_size) == 4096 + (256u << 20));
  CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 < (1u << 20));
}

TEST_CASE("io: fd sink writes zeros to a pipe and reports EPIPE as an error", "[io][sink]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  auto sink = fd_sink(fds[1], "<pipe>");
  REQUIRE(sink->write(pattern(100, 1)).ok());
  REQUIRE(sink->write_zeroes(100).ok());
  std::vector<std::byte> got(200);
  REQUIRE(::read(fds[0], got.data(), 200) == 200);
  CHECK(std::vector<std::byte>(got.begin(), got.begin() + 100) == pattern(100, 1));
  CHECK(std::all_of(got.begin() + 100, got.end(), [](std::byte b) { return b == std::byte{0}; }));
  ::close(fds[0]);
  ::signal(SIGPIPE, SIG_IGN);
  auto s = sink->write(pattern(100, 1));
  CHECK(s.code() == Errc::io_error);
  ::close(fds[1]);
}

TEST_CASE("io: fd sink on /dev/full reports no_space", "[io][sink]") {
  int fd = ::open("/dev/full", O_WRONLY);
  REQUIRE(fd >= 0);
  auto sink = fd_sink(fd, "/dev/full");
  CHECK(sink->write(pattern(4096, 1)).code() == Errc::no_space);
  ::close(fd);
}

TEST_CASE("io: prefixed and memory streams replay bytes in order", "[io][stream]") {
  auto in =
      prefixed_stream(vdisk::test::bytes_of("abc"), memory_stream(vdisk::test::bytes_of("defg")));
  std::vector<std::byte> buf(10);
  auto n = read_full(*in, buf);
  REQUIRE(n.ok());
  CHECK(*n == 7);
  CHECK(std::memcmp(buf.data(), "abcdefg", 7) == 0);
  CHECK(*read_full(*in, buf) == 0);
}

TEST_CASE("io: same_file recognises hard links", "[io]") {
  TempDir dir;
  vdisk::test::write_file(dir / "a", pattern(10, 1));
  std::filesystem::create_hard_link(dir / "a", dir / "b");
  CHECK(same_file(dir / "a", dir / "b"));
  vdisk::test::write_file(dir / "c", pattern(10, 1));
  CHECK_FALSE(same_file(dir / "a", dir / "c"));
  CHECK_FALSE(same_file(dir / "a", dir / "missing"));
}
