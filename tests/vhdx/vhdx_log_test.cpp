// The log: pending entries replayed into an in-memory overlay (one or several entries, an
// entry that wraps past the end of the log, zero descriptors), checked against the image the
// entries describe and, with qemu-img, against qemu's own replay (qemu-img check -r all on a
// copy); damaged logs: a bad CRC, a Tail never reached, junk that keeps passing the header
// checks, a truncated file.
#include "test_support.h"
#include "formats/vhdx/vhdx_reader.h"
#include "vhdx_test_util.h"

using namespace vdisk;
using namespace vdisk::test;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;

struct Logged {
  Bytes truth;  // the image after the log's updates, with an empty log
  Bytes img;    // the same with the updates still in the log
  Bytes disk;   // what the disk reads as
};

Logged make_logged(unsigned entries, std::uint64_t start) {
  VhdxBuilder b(VhdxSpec{});
  const std::uint64_t h1 = b.add_block(1, pattern(kMiB, 5));
  const std::uint64_t h2 = b.add_block(2, pattern(kMiB / 2, 6));
  Logged out;
  out.truth = b.bytes();
  out.disk = read_all(*open_bytes(out.truth));
  VhdxLog log;
  log.sectors = {VhdxBuilder::kBatOffset, h1, h1 + 8192, h2 + 4096};
  log.zeros = {{h2 + kMiB / 2, 64 * 1024}};
  log.entries = entries;
  log.start = start;
  b.set_log(log);
  out.img = b.bytes();
  return out;
}

}  // namespace

TEST_CASE("vhdx: a pending log is replayed in memory before reading", "[vhdx][log]") {
  for (unsigned entries : {1u, 3u})
    for (std::uint64_t start : {std::uint64_t{0}, VhdxBuilder::kLogLength - 4096}) {
      INFO("entries " << entries << ", first entry at log offset " << start);
      const Logged l = make_logged(entries, start);
      REQUIRE(l.img != l.truth);
      std::vector<std::string> notes;
      OpenOptions o;
      o.on_diagnostic = [&](const Diagnostic& d) { notes.push_back(d.message); };
      auto s = open_bytes(l.img, o);
      CHECK(read_all(*s) == l.disk);
      CHECK(describe(*s).get("log") == "replayed " + std::to_string(entries) + " entries");
      REQUIRE(notes.size() == 1);
      CHECK(notes[0].find("replayed them in memory") != std::string::npos);
    }
}

TEST_CASE("vhdx: without the replay the stale bytes would show (the test can fail)",
          "[vhdx][log]") {
  Logged l = make_logged(1, 0);
  for (int h = 0; h < 2; ++h) {
    std::fill_n(l.img.begin() + static_cast<std::ptrdiff_t>(VhdxBuilder::kHeader[h] + 48), 16,
                std::byte{0});
    VhdxBuilder::fix_header_crc(l.img, h);
  }
  auto s = try_open(l.img);
  if (s.ok()) CHECK(read_all(**s) != l.disk);
}

TEST_CASE("vhdx: qemu-img's own replay agrees", "[vhdx][log][qemu]") {
  if (run("command -v qemu-img > /dev/null") != 0) {
    WARN("qemu-img is not installed; skipped");
    return;
  }
  TempDir dir;
  // Entries from the start of the log: qemu keeps the run whose *first* entry has the highest
  // sequence number, so with a wrapped first entry it would drop that entry (docs/vhdx.md).
  const Logged l = make_logged(3, 0);
  write_file(dir / "l.vhdx", l.img);
  const std::string f = (dir / "l.vhdx").string();
  std::string out;
  run("qemu-img check -r all '" + f + "' 2>&1", &out);
  INFO(out);
  REQUIRE(run("qemu-img convert -f vhdx -O raw '" + f + "' '" + (dir / "q.raw").string() + "'") ==
          0);
  write_file(dir / "v.raw", read_all(*open_bytes(l.img)));
  CHECK(sha256_file(dir / "v.raw") == sha256_file(dir / "q.raw"));
  // After qemu's replay the file is the image the log described.
  const Bytes replayed = read_file(dir / "l.vhdx");
  REQUIRE(replayed.size() >= l.truth.size());
  CHECK(std::equal(l.truth.begin() + 2 * kMiB, l.truth.end(), replayed.begin() + 2 * kMiB));
}

TEST_CASE("vhdx: damaged logs are refused or bounded", "[vhdx][log][hostile]") {
  SECTION("an entry with a bad CRC leaves no valid entry") {
    Logged l = make_logged(1, 0);
    l.img[VhdxBuilder::kLogOffset + 100] ^= std::byte{1};
    auto s = try_open(l.img);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Errc::corrupt);
    CHECK(s.status().message().find("no valid log entry") != std::string::npos);
  }
  SECTION("a log full of entries whose Tail is never reached still ends") {
    VhdxBuilder b(VhdxSpec{});
    const std::uint64_t h1 = b.add_block(1, pattern(kMiB, 5));
    const Bytes disk = read_all(*open_bytes(b.bytes()));
    VhdxLog log;
    log.sectors = {h1};
    log.entries = 256;  // one sector each: the log is full and wraps onto itself
    log.start = 4096 * 7;
    log.tail = 4096 * 3 + 0x10000000;  // outside the log: invalid in every entry
    b.set_log(log);
    auto s = try_open(b.bytes());
    REQUIRE_FALSE(s.ok());  // no entry passes the Tail check
    log.tail = 4096 * 9;    // inside, but no sequence ends there going back from the head
    b.set_log(log);
    auto t = open_bytes(b.bytes());
    CHECK(read_all(*t) == disk);                               // the head entry holds the update
    CHECK(describe(*t).get("log") == "replayed 254 entries");  // back to the Tail, no further
  }
  SECTION("junk entries that pass the header checks exhaust the scan budget") {
    Logged l = make_logged(1, 0);
    for (std::uint64_t pos = 0; pos < VhdxBuilder::kLogLength; pos += 4096) {
      const std::uint64_t at = VhdxBuilder::kLogOffset + pos;
      std::copy_n(l.img.begin() + static_cast<std::ptrdiff_t>(VhdxBuilder::kLogOffset), 64,
                  l.img.begin() + static_cast<std::ptrdiff_t>(at));
      put32(l.img, at + 8, static_cast<std::uint32_t>(VhdxBuilder::kLogLength));
      put32(l.img, at + 4, 0xdeadbeef);
    }
    auto s = try_open(l.img);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Errc::resource_exhausted);
  }
  SECTION("a FlushedFileOffset past the end means the file was truncated") {
    VhdxBuilder b(VhdxSpec{});
    const std::uint64_t h1 = b.add_block(1, pattern(kMiB, 5));
    VhdxLog log;
    log.sectors = {h1};
    log.flushed = 1ull << 40;
    b.set_log(log);
    auto s = try_open(b.bytes());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message().find("truncated") != std::string::npos);
  }
}

TEST_CASE("vhdx: the overlay keeps the latest write of every byte", "[vhdx][log]") {
  // Model: a byte array of "file" bytes (0x11) with overlay writes applied in order.
  constexpr std::size_t kLen = 32 * 4096;  // every write below lies inside
  Bytes model(kLen, std::byte{0x11});
  vhdx::Overlay ov;
  std::uint32_t seed = 1;
  auto write = [&](std::uint64_t at) {
    Bytes s = pattern(4096, seed++);
    std::copy(s.begin(), s.end(), model.begin() + static_cast<std::ptrdiff_t>(at));
    ov.write(at, std::move(s));
  };
  auto zero = [&](std::uint64_t at, std::uint64_t n) {
    std::fill_n(model.begin() + static_cast<std::ptrdiff_t>(at), n, std::byte{0});
    ov.zero(at, n);
  };
  zero(4096, 8 * 4096);  // one long zero run
  write(2 * 4096);       // cuts it
  write(20 * 4096);
  zero(6 * 4096, 2 * 4096);
  zero(19 * 4096, 3 * 4096);  // covers a data sector
  write(19 * 4096);
  write(8 * 4096);
  Bytes got(kLen, std::byte{0x11});
  for (const auto& [rel, len] : ov.apply(0, got))
    CHECK(std::all_of(got.begin() + static_cast<std::ptrdiff_t>(rel),
                      got.begin() + static_cast<std::ptrdiff_t>(rel + len),
                      [](std::byte b) { return b == std::byte{0x11}; }));
  CHECK(got == model);
  // An unaligned window.
  Bytes part(10000, std::byte{0x11});
  (void)ov.apply(3 * 4096 + 123, part);
  CHECK(std::equal(part.begin(), part.end(), model.begin() + 3 * 4096 + 123));
}
