// The initrd reader against initrds made at test time with cpio, gzip, xz and zstd (plain,
// early-microcode + compressed, odc, several members), the machine's own Debian initramfs
// (compared with lsinitramfs), hostile inputs, and the cloud facts of a boot entry.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>

#include <fmt/format.h>

#include "formats/iso9660/livecd/initrd.h"
#include "test_support.h"
#include "vdisk/io.h"

using namespace vdisk;
using namespace vdisk::livecd;
namespace fs = std::filesystem;
using vdisk::test::run;
using vdisk::test::TempDir;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Runs `cmd` with bash and pipefail (run() uses /bin/sh).
std::string bash(const std::string& cmd) {
  std::string quoted;
  for (char c : cmd) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return "bash -o pipefail -c '" + quoted + "'";
}

void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(run(bash(cmd) + " 2>/dev/null") == 0);
}

InitrdFacts facts_of(const fs::path& p, const InitrdLimits& limits = {}) {
  auto f = open_file(p);
  REQUIRE(f.ok());
  auto r = read_initrd_facts(**f, limits);
  REQUIRE(r.ok());
  return std::move(*r);
}

InitrdFacts facts_of_bytes(std::vector<std::byte> bytes, const InitrdLimits& limits = {}) {
  auto f = memory_file(std::move(bytes), "hostile.img");
  auto r = read_initrd_facts(*f, limits);
  REQUIRE(r.ok());
  return std::move(*r);
}

// A module tree as mkinitramfs and dracut lay it out.
void make_tree(const fs::path& root) {
  const fs::path mods = root / "usr/lib/modules/6.1.0-test";
  fs::create_directories(mods / "kernel/drivers/scsi");
  fs::create_directories(mods / "kernel/drivers/hv");
  fs::create_directories(mods / "kernel/drivers/nvme/host");
  fs::create_directories(root / "etc");
  test::write_file(mods / "kernel/drivers/scsi/hv_storvsc.ko.xz", test::pattern(3000, 1));
  test::write_file(mods / "kernel/drivers/scsi/virtio_scsi.ko", test::pattern(5000, 2));
  test::write_file(mods / "kernel/drivers/hv/hv_vmbus.ko.zst", test::pattern(700, 3));
  test::write_file(mods / "kernel/drivers/nvme/host/nvme-core.ko.gz", test::pattern(100, 4));
  test::write_file(mods / "modules.builtin",
                   test::bytes_of("kernel/drivers/scsi/sd_mod.ko\nkernel/fs/ext4/ext4.ko\n"));
  // A large file whose data must be skipped, not held.
  test::write_file(root / "etc/big.bin", test::pattern(3 << 20, 5));
  fs::create_symlink("/usr/lib", root / "lib");
}

// `cpio -t` entry count of an archive (compressed or not: decompressed by `decompress`).
std::uint64_t cpio_count(const std::string& decompress, const fs::path& archive) {
  std::string out;
  REQUIRE(run(bash(decompress + " < " + q(archive) + " | cpio -it --quiet 2>/dev/null | wc -l"),
              &out) == 0);
  return std::stoull(out);
}

std::vector<std::byte> newc_header(std::string_view name, std::uint64_t size,
                                   std::uint64_t namesize_field, std::uint32_t mode = 0100644) {
  std::string h = fmt::format(
      "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}"
      "{:08x}{:08x}{:08x}",
      1u, mode, 0u, 0u, 1u, 0u, size, 0u, 0u, 0u, 0u, namesize_field, 0u);
  h += name;
  h += '\0';
  while (h.size() % 4 != 0) h += '\0';
  return test::bytes_of(h);
}

void append(std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  a.insert(a.end(), b.begin(), b.end());
}

}  // namespace

TEST_CASE("initrd: plain, gzip, xz and zstd cpio archives made by cpio", "[livecd][initrd]") {
  TempDir t;
  make_tree(t / "root");
  const fs::path plain = t / "initrd.cpio";
  sh("cd " + q(t / "root") + " && find . | LC_ALL=C sort | cpio -o -H newc --quiet > " + q(plain));
  const std::uint64_t expected = cpio_count("cat", plain);
  REQUIRE(expected > 10);
  struct Case {
    std::string compression, compress;
  };
  for (const Case& c : {Case{"none", "cat"}, Case{"gzip", "gzip -9"},
                        Case{"xz", "xz --check=crc32 -T1"}, Case{"zstd", "zstd -q -19"}}) {
    DYNAMIC_SECTION(c.compression) {
      const fs::path img = t / ("initrd." + c.compression);
      sh(c.compress + " < " + q(plain) + " > " + q(img));
      const InitrdFacts f = facts_of(img);
      INFO(f.problem);
      CHECK(f.complete);
      CHECK(f.problem.empty());
      CHECK(f.compressions() == std::vector<std::string>{c.compression});
      CHECK(f.entries == expected);
      REQUIRE(f.segments.size() == 1);
      if (c.compression == "none")  // cpio pads the archive to 512 bytes with zeros
        CHECK(fs::file_size(img) - f.segments[0].stored < 512);
      else
        CHECK(f.segments[0].stored == fs::file_size(img));
      CHECK(f.segments[0].archives == 1);
      CHECK(f.modules ==
            std::set<std::string>{"hv_storvsc", "virtio_scsi", "hv_vmbus", "nvme_core"});
      CHECK(f.has_module("nvme-core"));
      CHECK(f.builtin_list);
      CHECK(f.builtin == std::set<std::string>{"sd_mod", "ext4"});
      CHECK(f.kernel_versions == std::set<std::string>{"6.1.0-test"});
    }
  }
}

TEST_CASE("initrd: early microcode cpio, then a compressed one (dracut layout)",
          "[livecd][initrd]") {
  TempDir t;
  make_tree(t / "main");
  fs::create_directories(t / "early/kernel/x86/microcode");
  test::write_file(t / "early/kernel/x86/microcode/GenuineIntel.bin", test::pattern(10000, 9));
  sh("cd " + q(t / "early") + " && find . | cpio -o -H newc --quiet > " + q(t / "early.cpio"));
  sh("cd " + q(t / "main") + " && find . | cpio -o -H newc --quiet | xz --check=crc32 > " +
     q(t / "main.cpio.xz"));
  // dracut pads nothing after the early archive (cpio pads it to 512 bytes); add zeros anyway,
  // as the kernel skips zero padding between parts.
  sh("{ cat " + q(t / "early.cpio") + "; head -c 1024 /dev/zero; cat " + q(t / "main.cpio.xz") +
     "; } > " + q(t / "initrd.img"));
  const std::uint64_t early = cpio_count("cat", t / "early.cpio");
  const std::uint64_t main = cpio_count("xz -dc", t / "main.cpio.xz");
  const InitrdFacts f = facts_of(t / "initrd.img");
  INFO(f.problem);
  CHECK(f.complete);
  CHECK(f.compressions() == std::vector<std::string>{"none", "xz"});
  REQUIRE(f.segments.size() == 2);
  CHECK(f.segments[0].offset == 0);
  CHECK(f.segments[0].entries == early);
  CHECK(f.segments[1].offset == fs::file_size(t / "early.cpio") + 1024);
  CHECK(f.segments[1].entries == main);
  CHECK(f.entries == early + main);
  CHECK(f.has_module("hv_storvsc"));
}

TEST_CASE("initrd: several gzip members and zstd frames, odc archives", "[livecd][initrd]") {
  TempDir t;
  make_tree(t / "a");
  fs::create_directories(t / "b/usr/lib/modules/6.1.0-test/kernel/drivers/block");
  test::write_file(t / "b/usr/lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko",
                   test::pattern(100, 7));
  sh("cd " + q(t / "a") + " && find . | cpio -o -H newc --quiet > " + q(t / "a.cpio"));
  sh("cd " + q(t / "b") + " && find . | cpio -o -H newc --quiet > " + q(t / "b.cpio"));
  const std::uint64_t total = cpio_count("cat", t / "a.cpio") + cpio_count("cat", t / "b.cpio");
  SECTION("gzip members") {
    sh("{ gzip < " + q(t / "a.cpio") + "; gzip < " + q(t / "b.cpio") + "; } > " + q(t / "i.img"));
    const InitrdFacts f = facts_of(t / "i.img");
    CHECK(f.complete);
    CHECK(f.segments.size() == 2);
    CHECK(f.entries == total);
    CHECK(f.has_module("virtio_blk"));
    CHECK(f.has_module("virtio_scsi"));
  }
  SECTION("two archives in one zstd frame") {
    sh("cat " + q(t / "a.cpio") + " " + q(t / "b.cpio") + " | zstd -q > " + q(t / "i.img"));
    const InitrdFacts f = facts_of(t / "i.img");
    CHECK(f.complete);
    REQUIRE(f.segments.size() == 1);
    CHECK(f.segments[0].archives == 2);
    CHECK(f.entries == total);
  }
  SECTION("odc") {
    sh("cd " + q(t / "a") + " && find . | cpio -o -H odc --quiet | gzip > " + q(t / "i.img"));
    const InitrdFacts f = facts_of(t / "i.img");
    INFO(f.problem);
    CHECK(f.complete);
    CHECK(f.entries == cpio_count("cat", t / "a.cpio"));
    CHECK(f.has_module("hv_storvsc"));
    REQUIRE(f.notes.size() == 1);
    CHECK(f.notes[0].find("odc") != std::string::npos);
  }
  SECTION("lz4 is recognised and reported as not read") {
    sh("lz4 -l -q < " + q(t / "a.cpio") + " > " + q(t / "i.img"));
    const InitrdFacts f = facts_of(t / "i.img");
    CHECK_FALSE(f.complete);
    CHECK(f.compressions() == std::vector<std::string>{"lz4"});
    CHECK(f.problem.find("lz4 compression is not read") != std::string::npos);
  }
}

TEST_CASE("initrd: this machine's Debian initramfs matches lsinitramfs", "[livecd][initrd]") {
  std::vector<fs::path> initrds;
  for (const auto& e : fs::directory_iterator("/boot"))
    if (e.path().filename().string().starts_with("initrd.img-")) initrds.push_back(e.path());
  REQUIRE_FALSE(initrds.empty());
  const fs::path& img = initrds.front();
  INFO(img);
  std::string listing;
  REQUIRE(run("lsinitramfs " + q(img) + " 2>/dev/null", &listing) == 0);
  std::set<std::string> modules;
  std::uint64_t lines = 0;
  std::istringstream in(listing);
  std::string line;
  while (std::getline(in, line)) {
    ++lines;
    const auto slash = line.rfind('/');
    std::string base = slash == std::string::npos ? line : line.substr(slash + 1);
    if (line.find("lib/modules/") == std::string::npos) continue;
    for (std::string_view suffix : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"}) {
      if (base.size() > suffix.size() && base.ends_with(suffix)) {
        base.resize(base.size() - suffix.size());
        std::replace(base.begin(), base.end(), '-', '_');
        modules.insert(base);
        break;
      }
    }
  }
  const InitrdFacts f = facts_of(img);
  INFO(f.problem);
  CHECK(f.complete);
  // lsinitramfs lists "." of each archive; cpio -t lists it too, and so does our walk.
  CHECK(f.entries == lines);
  CHECK(f.modules == modules);
  CHECK(f.has_module("virtio_scsi"));
  CHECK(f.has_module("hv_storvsc"));
  CHECK(f.has_module("hv_vmbus"));
  CHECK(f.builtin_list);
  CHECK_FALSE(f.builtin.empty());

  // Asked about one cloud's modules, the walk stops once they are all seen: the same answer
  // for them, fewer entries walked (the rest of the archive is not decompressed).
  for (const char* cloud : {"azure", "gcp"}) {
    INFO(cloud);
    auto file = open_file(img);
    REQUIRE(file.ok());
    const auto want = cloud_boot_modules(cloud);
    REQUIRE_FALSE(want.empty());
    auto early = read_initrd_facts(**file, {}, {}, want);
    REQUIRE(early.ok());
    CHECK(early->problem.empty());
    for (const std::string& m : want) CHECK((early->has_module(m) || early->has_builtin(m)));
    CHECK(early->entries <= f.entries);
    if (early->stopped_early) {
      CHECK_FALSE(early->complete);
      CHECK(early->entries > 0);
      CHECK(early->entries < f.entries);
    }
  }
  // A module the initrd does not have: the whole initrd is walked.
  auto file = open_file(img);
  REQUIRE(file.ok());
  const std::vector<std::string> absent = {"no_such_module_anywhere"};
  auto full = read_initrd_facts(**file, {}, {}, absent);
  REQUIRE(full.ok());
  CHECK(full->complete);
  CHECK_FALSE(full->stopped_early);
  CHECK(full->entries == f.entries);
}

TEST_CASE("initrd: hostile inputs end with a problem, bounded", "[livecd][initrd]") {
  std::vector<std::byte> good = newc_header("a", 4, 2);
  append(good, test::bytes_of("data"));
  std::vector<std::byte> trailer = newc_header("TRAILER!!!", 0, 11);

  SECTION("truncated header") {
    std::vector<std::byte> b = good;
    const auto h = newc_header("b", 0, 2);
    b.insert(b.end(), h.begin(), h.begin() + 50);
    const InitrdFacts f = facts_of_bytes(b);
    CHECK_FALSE(f.complete);
    CHECK(f.problem.find("ends inside the 110-byte header") != std::string::npos);
    CHECK(f.entries == 1);
  }
  SECTION("data size past the end") {
    std::vector<std::byte> b = newc_header("big", 0xfffffff0, 4);
    append(b, test::bytes_of("xx"));
    const InitrdFacts f = facts_of_bytes(b);
    CHECK_FALSE(f.complete);
    CHECK(f.problem.find("runs past the end") != std::string::npos);
  }
  SECTION("bad magic after a good entry") {
    std::vector<std::byte> b = good;
    append(b, test::bytes_of("070799"));
    b.resize(b.size() + 200);
    const InitrdFacts f = facts_of_bytes(b);
    CHECK(f.problem.find("expected magic 070701") != std::string::npos);
  }
  SECTION("bad hex digit") {
    std::vector<std::byte> b = newc_header("a", 0, 2);
    b[20] = std::byte{'g'};
    const InitrdFacts f = facts_of_bytes(b);
    CHECK(f.problem.find("hex digits") != std::string::npos);
  }
  SECTION("huge name length") {
    std::vector<std::byte> b = newc_header("a", 0, 0x7fffffff);
    const InitrdFacts f = facts_of_bytes(b);
    CHECK(f.problem.find("over the limit of 4096") != std::string::npos);
  }
  SECTION("name without NUL") {
    std::vector<std::byte> b = newc_header("abc", 0, 3);  // the NUL is outside namesize
    const InitrdFacts f = facts_of_bytes(b);
    CHECK(f.problem.find("NUL") != std::string::npos);
  }
  SECTION("missing trailer in a compressed stream") {
    TempDir t;
    test::write_file(t / "raw", good);
    sh("gzip < " + q(t / "raw") + " > " + q(t / "i.img"));
    const InitrdFacts f = facts_of(t / "i.img");
    CHECK(f.problem.find("before the archive's TRAILER!!!") != std::string::npos);
  }
  SECTION("entry cap") {
    std::vector<std::byte> b;
    for (int i = 0; i < 20; ++i) append(b, good);
    append(b, trailer);
    InitrdLimits limits;
    limits.max_entries = 10;
    const InitrdFacts f = facts_of_bytes(b, limits);
    CHECK(f.problem.find("more than 10 cpio entries") != std::string::npos);
    CHECK(f.entries == 10);
    limits.max_entries = 20;
    CHECK(facts_of_bytes(b, limits).complete);
  }
  SECTION("garbage after the archives") {
    std::vector<std::byte> b = good;
    append(b, trailer);
    append(b, test::bytes_of("\x7f"
                             "ELF"));
    const InitrdFacts f = facts_of_bytes(b);
    CHECK(f.problem.find("expected a cpio archive (070701) or a gzip, xz or zstd stream, found "
                         "bytes 7f 45 4c 46") != std::string::npos);
    CHECK(f.entries == 1);
  }
  SECTION("truncated xz stream") {
    TempDir t;
    make_tree(t / "root");
    sh("cd " + q(t / "root") + " && find . | cpio -o -H newc --quiet | xz --check=crc32 > " +
       q(t / "full.xz"));
    const auto full = test::read_file(t / "full.xz");
    const InitrdFacts f =
        facts_of_bytes(std::vector<std::byte>(full.begin(), full.begin() + full.size() / 2));
    CHECK_FALSE(f.complete);
    CHECK_FALSE(f.problem.empty());
  }
  SECTION("a compression bomb stops at the decompressed-bytes limit") {
    TempDir t;
    fs::create_directories(t / "root");
    sh("truncate -s 256M " + q(t / "root/zeros"));
    sh("cd " + q(t / "root") + " && echo zeros | cpio -o -H newc --quiet | gzip -9 > " +
       q(t / "bomb.gz"));
    REQUIRE(fs::file_size(t / "bomb.gz") < (1u << 20));
    InitrdLimits limits;
    limits.max_decompressed_bytes = 16u << 20;
    const InitrdFacts f = facts_of(t / "bomb.gz", limits);
    CHECK(f.problem.find("decompresses to more than 16777216 bytes") != std::string::npos);
  }
  SECTION("zero padding alone is an empty, complete initrd") {
    const InitrdFacts f = facts_of_bytes(std::vector<std::byte>(4096));
    CHECK(f.complete);
    CHECK(f.segments.empty());
  }
}

TEST_CASE("initrd: what a boot entry gives each cloud", "[livecd][initrd]") {
  BootEntry e;
  e.kernel = "/isolinux/vmlinuz0";
  e.initrds = {"/isolinux/initrd0.img"};
  e.append = "root=live:CDLABEL=X quiet console=tty0 console=ttyS0,115200n8";
  InitrdFacts f;
  f.complete = true;
  f.modules = {"hv_vmbus", "hv_storvsc"};
  SECTION("drivers present, no builtin list") {
    const BootEntryFacts r = boot_entry_facts(e, std::span(&f, 1));
    REQUIRE(r.clouds.size() == 2);
    CHECK(r.clouds[0].cloud == "azure");
    CHECK(r.clouds[0].ready);
    CHECK(r.clouds[1].cloud == "gcp");
    CHECK_FALSE(r.clouds[1].ready);
    CHECK(r.clouds[1].drivers[0].state == DriverState::maybe_builtin);
    CHECK(r.clouds[1].drivers[0].text ==
          "virtio_scsi: not in the initrd (may be built into the kernel)");
    CHECK(r.serial_console);
    CHECK(r.console_text == "serial console: console=ttyS0,115200n8");
  }
  SECTION("builtin list decides") {
    f.builtin_list = true;
    f.builtin = {"virtio_scsi"};
    const BootEntryFacts r = boot_entry_facts(e, std::span(&f, 1));
    CHECK(r.clouds[1].ready);
    CHECK(r.clouds[1].drivers[0].state == DriverState::builtin);
    f.builtin.clear();
    const BootEntryFacts r2 = boot_entry_facts(e, std::span(&f, 1));
    CHECK(r2.clouds[1].drivers[0].state == DriverState::absent);
  }
  SECTION("an incompletely read initrd gives unknown, no console gives a warning") {
    f.complete = false;
    e.append = "quiet console=tty0";
    const BootEntryFacts r = boot_entry_facts(e, std::span(&f, 1));
    CHECK(r.clouds[0].ready);  // seen is seen
    CHECK(r.clouds[1].drivers[0].state == DriverState::unknown);
    CHECK_FALSE(r.serial_console);
  }
}
