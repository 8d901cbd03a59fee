// The one link rule of base/linked_path.h, tested once for every format that names a parent or
// a backing file (qcow2, VMDK, VHD, VHDX) and every pairing of them: loops of length 1, 2 and 3
// across formats, a chain exactly at and one past kMaxChainDepth, parents outside the image's
// directory (../, an absolute path, a symbolic link), a missing parent, and the content of
// mixed chains against qemu; VMDK extent files and qcow2 external data files under the same
// directory rule.
//
// Images: qcow2 and VMDK (twoGbMaxExtentSparse, so the descriptor is a text file the test can
// give a parentFileNameHint) are made with qemu-img and written with qemu-io; VHD and VHDX
// children come from the repository's builders (qemu-img makes no differencing VHD or VHDX), VHD
// and VHDX bases from qemu-img. Every child may name a parent that does not exist yet, so loops
// are built directly. Identity checks (VHD unique id, VHDX DataWriteGuid, VMDK parentCID) are
// other tests' business: chains are opened with ignore_parent_identity.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "test_support.h"
#include "base/linked_path.h"
#include "vdisk/image.h"
#include "vhd_builder.h"
#include "vhdx_builder.h"

using namespace vdisk;
using test::run;
using test::TempDir;
using Bytes = std::vector<std::byte>;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * kKiB;
constexpr std::uint64_t kSize = 4 * kMiB;

enum class Fmt { qcow2, vmdk, vhd, vhdx };

struct FormatInfo {
  Fmt fmt;
  const char* ext;   // file name extension, and libvdisk's format name
  const char* qemu;  // qemu's driver name
};

constexpr std::array<FormatInfo, 4> kFormats{{{Fmt::qcow2, "qcow2", "qcow2"},
                                              {Fmt::vmdk, "vmdk", "vmdk"},
                                              {Fmt::vhd, "vhd", "vpc"},
                                              {Fmt::vhdx, "vhdx", "vhdx"}}};

const FormatInfo& info(Fmt f) { return kFormats[static_cast<std::size_t>(f)]; }

std::string named(std::string_view stem, Fmt f) { return fmt::format("{}.{}", stem, info(f).ext); }

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// qemu's view of one layer alone (its backing file, if any, not opened).
std::string layer_only(const fs::path& p, Fmt f) {
  if (f == Fmt::qcow2 || f == Fmt::vmdk)
    return fmt::format(
        "'json:{{\"driver\":\"{}\",\"file\":{{\"driver\":\"file\",\"filename\":"
        "\"{}\"}},\"backing\":null}}'",
        info(f).qemu, p.string());
  return fmt::format("-f {} {}", info(f).qemu, quoted(p));
}

void qemu(const std::string& command) {
  INFO(command);
  REQUIRE(run(command + " > /dev/null") == 0);
}

// Writes pattern(len, seed) at `off` of the layer at `p` through qemu-io.
void qemu_write(const fs::path& p, Fmt f, std::uint64_t off, std::uint64_t len,
                std::uint32_t seed) {
  const fs::path src = p.parent_path() / "qemu-io-source.bin";
  test::write_file(src, test::pattern(static_cast<std::size_t>(len), seed));
  qemu(fmt::format("qemu-io {} -c \"write -q -s {} {} {}\"", layer_only(p, f), src.string(), off,
                   len));
  fs::remove(src);
}

// An image without a parent; with `seed`, holding data over the first 3 MiB.
void make_base(const fs::path& p, Fmt f, std::uint32_t seed) {
  fs::create_directories(p.parent_path());
  switch (f) {
    case Fmt::qcow2:
      qemu(fmt::format("qemu-img create -q -f qcow2 {} {}", quoted(p), kSize));
      break;
    case Fmt::vmdk:
      qemu(fmt::format("qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse {} {}",
                       quoted(p), kSize));
      break;
    case Fmt::vhd:
      qemu(fmt::format("qemu-img create -q -f vpc -o subformat=dynamic,force_size=on {} {}",
                       quoted(p), kSize));
      break;
    case Fmt::vhdx:
      qemu(fmt::format("qemu-img create -q -f vhdx {} {}", quoted(p), kSize));
      break;
  }
  if (seed != 0) qemu_write(p, f, 0, 3 * kMiB, seed);
}

// A VMDK descriptor's parentCID line becomes a parentFileNameHint naming `parent`.
void name_vmdk_parent(const fs::path& p, const std::string& parent) {
  const Bytes raw = test::read_file(p);
  std::string text(reinterpret_cast<const char*>(raw.data()), raw.size());
  const std::string line = "parentCID=ffffffff\n";
  const auto at = text.find(line);
  REQUIRE(at != std::string::npos);
  text.replace(at, line.size(),
               fmt::format("parentCID=fffffffe\nparentFileNameHint=\"{}\"\n", parent));
  test::write_file(p, test::bytes_of(text));
}

// An image of format `f` at `p` naming `parent` (as recorded: relative to p's directory, or
// absolute; it need not exist) of format `parent_fmt`. With `seed`, it holds its own data: 1 MiB
// at 1 MiB and zeros over 256 KiB at 2.5 MiB (qcow2, VMDK; VMDK has no zero grains here, so
// those read from the parent), or part of a block (VHD, VHDX).
void make_child(const fs::path& p, Fmt f, const std::string& parent, Fmt parent_fmt,
                std::uint32_t seed) {
  fs::create_directories(p.parent_path());
  switch (f) {
    case Fmt::qcow2:
      qemu(fmt::format("qemu-img create -q -f qcow2 -u -b '{}' -F {} {} {}", parent,
                       info(parent_fmt).qemu, quoted(p), kSize));
      if (seed != 0) {
        qemu_write(p, f, 1 * kMiB, 1 * kMiB, seed);
        qemu(fmt::format("qemu-io {} -c \"write -q -z {} {}\"", layer_only(p, f), 2560 * kKiB,
                         256 * kKiB));
      }
      break;
    case Fmt::vmdk:
      make_base(p, f, 0);
      if (seed != 0) qemu_write(p, f, 1 * kMiB, 1 * kMiB, seed);
      name_vmdk_parent(p, parent);
      break;
    case Fmt::vhd: {
      test::DynamicVhdSpec s;
      s.size = kSize;
      s.block_size = static_cast<std::uint32_t>(2 * kMiB);
      s.differencing = true;
      s.unique_id[15] = static_cast<std::uint8_t>(seed);
      (fs::path(parent).is_absolute() ? s.parent_absolute : s.parent_relative) = parent;
      if (seed != 0) {
        std::vector<bool> present(2 * kMiB / 512);
        for (std::size_t i = 64; i < 192; ++i) present[i] = true;
        s.blocks.push_back({1, test::pattern(2 * kMiB, seed), present});
      }
      test::write_file(p, test::build_dynamic_vhd(s).bytes);
      break;
    }
    case Fmt::vhdx: {
      test::VhdxSpec s;
      s.virtual_size = kSize;
      s.block_size = static_cast<std::uint32_t>(kMiB);
      s.has_parent = true;
      s.data_write[0] = static_cast<std::uint8_t>(seed);
      s.locator = {
          {"parent_linkage", "{03020111-0504-0706-0809-0a0b0c0d0e0f}"},
          {fs::path(parent).is_absolute() ? "absolute_win32_path" : "relative_path", parent}};
      test::VhdxBuilder b(s);
      if (seed != 0) {
        std::vector<bool> present(kMiB / 512);
        for (std::size_t i = 0; i < 128; ++i) present[i] = true;
        b.add_partial(2, test::pattern(kMiB, seed), present);
      }
      test::write_file(p, b.bytes());
      break;
    }
  }
}

OpenOptions chain_options() {
  OpenOptions o;
  o.ignore_parent_identity = true;
  return o;
}

Status open_status(const fs::path& p, const OpenOptions& o = chain_options()) {
  return open_image(p, o).status();
}

std::string label(std::initializer_list<Fmt> chain) {
  std::string out;
  for (Fmt f : chain) out += (out.empty() ? "" : " -> ") + std::string(info(f).ext);
  return out;
}

// A loop must be one clean line, corrupt, naming the loop and the image it comes back to.
void check_loop(const Status& st, const fs::path& back_to) {
  INFO(st.to_string());
  CHECK(st.code() == Errc::corrupt);
  CHECK(st.message().find("loops") != std::string::npos);
  CHECK(st.message().find(fs::weakly_canonical(back_to).string()) != std::string::npos);
  CHECK(st.message().find('\n') == std::string::npos);
}

// qemu-img map of one layer alone: the ranges the layer itself holds (data or zeros).
struct Range {
  std::uint64_t start = 0;
  std::uint64_t length = 0;
  bool present = false;
};

std::vector<Range> layer_map(const fs::path& p, Fmt f) {
  std::string json;
  const std::string command = "qemu-img map --output=json " + layer_only(p, f);
  INFO(command);
  REQUIRE(run(command, &json) == 0);
  std::vector<Range> out;
  for (std::size_t at = json.find('{'); at != std::string::npos; at = json.find('{', at + 1)) {
    const std::string obj = json.substr(at, json.find('}', at) - at);
    const auto number = [&](std::string_view key) -> std::uint64_t {
      const auto k = obj.find(fmt::format("\"{}\":", key));
      REQUIRE(k != std::string::npos);
      return std::stoull(obj.substr(k + key.size() + 3));
    };
    out.push_back(
        {number("start"), number("length"), obj.find("\"present\": true") != std::string::npos});
  }
  REQUIRE_FALSE(out.empty());
  return out;
}

Bytes layer_raw(const fs::path& p, Fmt f) {
  const fs::path out = p.parent_path() / (p.filename().string() + ".layer.raw");
  qemu(fmt::format("qemu-img convert -O raw {} {}", layer_only(p, f), quoted(out)));
  Bytes b = test::read_file(out);
  fs::remove(out);
  REQUIRE(b.size() == kSize);
  return b;
}

}  // namespace

TEST_CASE("link rules: loops of length 1, 2 and 3 across every format are corrupt",
          "[links][hostile][qemu]") {
  TempDir dir;
  for (const FormatInfo& a : kFormats) {
    const fs::path d = dir / fmt::format("self-{}", a.ext);
    const std::string an = named("a", a.fmt);
    make_child(d / an, a.fmt, an, a.fmt, 1);
    INFO(label({a.fmt, a.fmt}));
    check_loop(open_status(d / an), d / an);
  }
  for (const FormatInfo& a : kFormats)
    for (const FormatInfo& b : kFormats) {
      INFO(label({a.fmt, b.fmt, a.fmt}));
      const fs::path d = dir / fmt::format("two-{}-{}", a.ext, b.ext);
      const std::string an = named("a", a.fmt), bn = named("b", b.fmt);
      make_child(d / an, a.fmt, bn, b.fmt, 1);
      make_child(d / bn, b.fmt, an, a.fmt, 2);
      check_loop(open_status(d / an), d / an);
      check_loop(open_status(d / bn), d / bn);
    }
  for (const FormatInfo& a : kFormats)
    for (const FormatInfo& b : kFormats)
      for (const FormatInfo& c : kFormats) {
        INFO(label({a.fmt, b.fmt, c.fmt, a.fmt}));
        const fs::path d = dir / fmt::format("three-{}-{}-{}", a.ext, b.ext, c.ext);
        const std::string an = named("a", a.fmt), bn = named("b", b.fmt), cn = named("c", c.fmt);
        make_child(d / an, a.fmt, bn, b.fmt, 0);
        make_child(d / bn, b.fmt, cn, c.fmt, 0);
        make_child(d / cn, c.fmt, an, a.fmt, 0);
        const Status st = open_status(d / an);
        check_loop(st, d / an);
        // The message shows the whole loop, whatever formats it crosses.
        CHECK(st.message().find(fs::weakly_canonical(d / cn).string() + "' -> '" +
                                fs::weakly_canonical(d / an).string()) != std::string::npos);
      }
}

TEST_CASE("link rules: a mixed chain of kMaxChainDepth images opens, one more is refused",
          "[links][hostile][qemu]") {
  constexpr std::size_t kLimit = detail::kMaxChainDepth;
  TempDir dir;
  for (std::size_t rotation = 0; rotation < kFormats.size(); ++rotation) {
    const auto fmt_of = [&](std::size_t i) { return kFormats[(rotation + i) % 4].fmt; };
    const fs::path d = dir / fmt::format("rotation-{}", rotation);
    const auto name_of = [&](std::size_t i) { return named(fmt::format("d{}", i), fmt_of(i)); };
    make_base(d / name_of(0), fmt_of(0), 0);
    for (std::size_t i = 1; i < kLimit; ++i)
      make_child(d / name_of(i), fmt_of(i), name_of(i - 1), fmt_of(i - 1), 0);
    INFO(fmt::format("top {}, base {}", info(fmt_of(kLimit - 1)).ext, info(fmt_of(0)).ext));
    {
      auto at_limit = open_image(d / name_of(kLimit - 1), chain_options());
      INFO(at_limit.status().to_string());
      REQUIRE(at_limit.ok());
      CHECK((*at_limit)->size() == kSize);
      CHECK(test::read_disk(**at_limit) == Bytes(kSize));
    }
    make_child(d / name_of(kLimit), fmt_of(kLimit), name_of(kLimit - 1), fmt_of(kLimit - 1), 0);
    const Status st = open_status(d / name_of(kLimit));
    INFO(st.to_string());
    CHECK(st.code() == Errc::resource_exhausted);
    CHECK(st.message().find(fmt::format("deeper than {} images", kLimit)) != std::string::npos);
    CHECK(st.message().find('\n') == std::string::npos);
    // The stack is empty again: the chain at the limit still opens on this thread.
    CHECK(open_image(d / name_of(kLimit - 1), chain_options()).ok());
  }
}

TEST_CASE("link rules: parents outside the directory are refused unless allowed",
          "[links][hostile][qemu]") {
  TempDir dir;
  for (std::size_t i = 0; i < kFormats.size(); ++i) {
    const Fmt child = kFormats[i].fmt;
    const Fmt parent = kFormats[(i + 1) % kFormats.size()].fmt;
    const fs::path d = dir / fmt::format("outside-{}", info(child).ext);
    const fs::path outside = d / "outside" / named("p", parent);
    make_base(outside, parent, 7);
    fs::create_directories(d / "in");
    fs::create_symlink(fs::path("..") / "outside" / named("p", parent), d / "in" / "link");
    const std::array<std::pair<const char*, std::string>, 3> names{{
        {"../", "../outside/" + named("p", parent)},
        {"absolute", fs::weakly_canonical(outside).string()},
        {"symbolic link", "link"},
    }};
    for (std::size_t k = 0; k < names.size(); ++k) {
      const auto& [what, name] = names[k];
      INFO(fmt::format("{} child, {} parent named '{}' ({})", info(child).ext, info(parent).ext,
                       name, what));
      const fs::path c = d / "in" / named(fmt::format("c{}", k), child);
      make_child(c, child, name, parent, 8);
      const Status st = open_status(c);
      INFO(st.to_string());
      CHECK(st.code() == Errc::corrupt);  // invalid input: vdconvert exit 2
      CHECK(st.message().rfind(std::string(info(child).ext) + ": ", 0) == 0);
      CHECK(st.message().find("lies outside the directory") != std::string::npos);
      OpenOptions allow = chain_options();
      allow.allow_outside_paths = true;
      auto opened = open_image(c, allow);
      INFO(opened.status().to_string());
      CHECK(opened.ok());
    }
  }
}

TEST_CASE("link rules: a missing parent is not_found naming the paths tried",
          "[links][hostile][qemu]") {
  TempDir dir;
  for (const FormatInfo& child : kFormats)
    for (const FormatInfo& parent : kFormats) {
      INFO(label({child.fmt, parent.fmt}));
      const fs::path d = dir / fmt::format("missing-{}-{}", child.ext, parent.ext);
      const std::string gone = named("gone", parent.fmt);
      make_child(d / named("c", child.fmt), child.fmt, gone, parent.fmt, 3);
      const Status st = open_status(d / named("c", child.fmt));
      INFO(st.to_string());
      CHECK(st.code() == Errc::not_found);
      CHECK(st.message().rfind(std::string(child.ext) + ": ", 0) == 0);
      CHECK(st.message().find("not found (tried '" + (fs::weakly_canonical(d) / gone).string() +
                              "')") != std::string::npos);
    }
}

TEST_CASE("link rules: mixed chains read as qemu reads them", "[links][qemu]") {
  // qemu reads every qcow2 and VMDK layer alone and the bases whole; the chain's expected
  // content is each layer's own ranges (qemu-img map: present) over the one below. Where qemu
  // follows the chain itself (qcow2 over qcow2), its whole-chain convert must agree too. qemu
  // cannot read a VMDK over a parent of another format, nor VHD or VHDX children.
  TempDir dir;
  for (const Fmt top : {Fmt::qcow2, Fmt::vmdk})
    for (const Fmt mid : {Fmt::qcow2, Fmt::vmdk})
      for (const FormatInfo& base : kFormats) {
        INFO(label({top, mid, base.fmt}));
        const fs::path d =
            dir / fmt::format("content-{}-{}-{}", info(top).ext, info(mid).ext, base.ext);
        const std::string bn = named("base", base.fmt), mn = named("mid", mid),
                          tn = named("top", top);
        make_base(d / bn, base.fmt, 11);
        make_child(d / mn, mid, bn, base.fmt, 12);
        make_child(d / tn, top, mn, mid, 13);
        // The top layer's own data moves to 1.5 MiB and 3 MiB so that it overlaps both below.
        qemu_write(d / tn, top, 1536 * kKiB, 64 * kKiB, 14);
        qemu_write(d / tn, top, 3 * kMiB, 512 * kKiB, 15);

        Bytes want = layer_raw(d / bn, base.fmt);
        for (const auto& [layer, f] : {std::pair{d / mn, mid}, std::pair{d / tn, top}}) {
          const Bytes own = layer_raw(layer, f);
          for (const Range& r : layer_map(layer, f)) {
            REQUIRE(r.start + r.length <= kSize);
            if (r.present)
              std::memcpy(want.data() + r.start, own.data() + r.start,
                          static_cast<std::size_t>(r.length));
          }
        }
        auto src = open_image(d / tn, chain_options());
        INFO(src.status().to_string());
        REQUIRE(src.ok());
        const Bytes got = test::read_disk(**src);
        CHECK(got == want);
        if (top == Fmt::qcow2 && mid == Fmt::qcow2) {
          qemu(fmt::format("qemu-img convert -O raw {} {}", quoted(d / tn), quoted(d / "q.raw")));
          CHECK(test::read_file(d / "q.raw") == got);
        }
      }
}

TEST_CASE("link rules: VMDK extent files and qcow2 data files follow the same directory rule",
          "[links][hostile][qemu]") {
  TempDir dir;
  const fs::path in = dir / "in";
  const fs::path out = dir / "outside";
  fs::create_directories(in);
  make_base(out / "e.vmdk", Fmt::vmdk, 21);
  const Bytes descriptor = test::read_file(out / "e.vmdk");
  const std::string text(reinterpret_cast<const char*>(descriptor.data()), descriptor.size());
  fs::create_symlink(fs::path("..") / "outside" / "e-s001.vmdk", in / "link-s001.vmdk");
  qemu(fmt::format("cd {} && qemu-img create -q -f qcow2 -o data_file=../outside/d.bin d.qcow2 {}",
                   quoted(in), kSize));
  fs::create_symlink(fs::path("..") / "outside" / "d.bin", in / "link.bin");
  qemu(fmt::format("cd {} && qemu-img create -q -f qcow2 -o data_file=link.bin l.qcow2 {}",
                   quoted(in), kSize));
  std::vector<std::pair<fs::path, std::string>> cases{{in / "d.qcow2", "../outside/d.bin"},
                                                      {in / "l.qcow2", "link.bin"}};
  for (const std::string& extent :
       {std::string("../outside/e-s001.vmdk"), (out / "e-s001.vmdk").string(),
        std::string("link-s001.vmdk")}) {
    std::string t = text;
    const auto at = t.find("\"e-s001.vmdk\"");
    REQUIRE(at != std::string::npos);
    t.replace(at + 1, std::string("e-s001.vmdk").size(), extent);
    const fs::path p = in / fmt::format("e{}.vmdk", cases.size());
    test::write_file(p, test::bytes_of(t));
    cases.emplace_back(p, extent);
  }
  for (const auto& [image, name] : cases) {
    INFO(image.filename().string() + " names " + name);
    const Status st = open_status(image);
    INFO(st.to_string());
    CHECK(st.code() == Errc::corrupt);  // invalid input: vdconvert exit 2
    CHECK(st.message().find("lies outside the directory") != std::string::npos);
    OpenOptions allow;
    allow.allow_outside_paths = true;
    auto opened = open_image(image, allow);
    INFO(opened.status().to_string());
    CHECK(opened.ok());
  }
  // A Windows drive name is outside every directory here: refused the same way (allowed, it is
  // looked for as written, and not found).
  std::string t = text;
  const auto at = t.find("\"e-s001.vmdk\"");
  REQUIRE(at != std::string::npos);
  t.replace(at + 1, std::string("e-s001.vmdk").size(), "C:\\outside\\e-s001.vmdk");
  test::write_file(in / "drive.vmdk", test::bytes_of(t));
  const Status st = open_status(in / "drive.vmdk");
  INFO(st.to_string());
  CHECK(st.code() == Errc::corrupt);
  CHECK(st.message().find("Windows drive path") != std::string::npos);
  OpenOptions allow;
  allow.allow_outside_paths = true;
  CHECK(open_image(in / "drive.vmdk", allow).status().code() == Errc::not_found);
}
