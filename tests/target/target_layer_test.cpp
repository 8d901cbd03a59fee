// The target layer: every target built by convert() and by the public building blocks
// (open_image / open_image_stream, prepare_disk / prepare_stream, create_target, copy) gives the
// same bytes, for files and streams; the size rules; sinks refuse a disk that was not prepared.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>

#include "../gpt/gpt_builder.h"
#include "test_support.h"
#include "vdisk/check.h"
#include "vdisk/image.h"

namespace vdisk::test {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

// A 5 MiB + 7 sector disk with a GPT (two partitions), data in both and a zero hole.
std::vector<std::byte> gpt_disk() {
  GptSpec s;
  s.size = 5 * kMiB + 7 * 512;
  s.parts = {{2048, 4000}, {4001, s.size / 512 - 40}};
  auto d = make_gpt_disk(s);
  const auto fill = pattern(kMiB, 9);
  std::memcpy(d.data() + 2 * kMiB, fill.data(), fill.size());
  return d;
}

TargetOptions pinned() {
  TargetOptions o;
  o.timestamp_unix = 1700000000;
  o.unique_id =
      std::array<std::uint8_t, 16>{1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16};
  o.compress_threads = 2;
  o.file_name = "out.img";
  return o;
}

ConvertOptions convert_options(std::string_view target) {
  ConvertOptions c;
  c.target = std::string(target);
  c.output = pinned();
  c.sync = false;
  c.pipeline.threads = 2;
  return c;
}

// convert() from a file into memory.
std::vector<std::byte> by_convert(std::string_view target, const std::filesystem::path& in,
                                  ConvertReport* report = nullptr) {
  std::vector<std::byte> out;
  auto r = convert({in}, {"out.img", memory_sink(&out)}, convert_options(target));
  INFO(target << ": " << r.status().to_string());
  REQUIRE(r.ok());
  if (report) *report = *r;
  return out;
}

// The same with the public building blocks.
std::vector<std::byte> by_pieces(std::string_view target, const std::filesystem::path& in,
                                 GptReport* gpt = nullptr) {
  auto source = open_image(in);
  REQUIRE(source.ok());
  PipelineOptions po;
  po.threads = 2;
  auto disk = prepare_disk(target, **source, pinned(), po);
  REQUIRE(disk.ok());
  if (gpt) *gpt = disk->gpt;
  std::vector<std::byte> out;
  auto sink = create_target(target, memory_sink(&out), *disk->disk, pinned());
  REQUIRE(sink.ok());
  REQUIRE(copy(*disk->disk, **sink, po).ok());
  return out;
}

Result<std::vector<std::byte>> stream_by_convert(std::string_view target,
                                                 const std::vector<std::byte>& in) {
  std::vector<std::byte> out;
  VDISK_RETURN_IF_ERROR(
      convert({"-", memory_stream(in)}, {"out.img", memory_sink(&out)}, convert_options(target))
          .status());
  return out;
}

Result<std::vector<std::byte>> stream_by_pieces(std::string_view target,
                                                const std::vector<std::byte>& in) {
  VDISK_ASSIGN_OR_RETURN(auto stream, open_image_stream(memory_stream(in)));
  VDISK_ASSIGN_OR_RETURN(auto padded, prepare_stream(target, *stream, pinned()));
  std::vector<std::byte> out;
  VDISK_ASSIGN_OR_RETURN(auto sink,
                         create_target(target, memory_sink(&out), padded->size(), pinned()));
  PipelineOptions po;
  po.threads = 2;
  VDISK_RETURN_IF_ERROR(copy(*padded, *sink, po).status());
  return out;
}

}  // namespace

TEST_CASE("target layer: convert() and the public pieces give the same bytes, every target",
          "[target]") {
  TempDir dir;
  const auto disk = gpt_disk();
  write_file(dir / "in.raw", disk);
  for (std::string_view target : target_names()) {
    if (target_info(target)->remote_only) continue;  // a cloud object only: tests/cloud
    DYNAMIC_SECTION(target) {
      ConvertReport report;
      const auto a = by_convert(target, dir / "in.raw", &report);
      GptReport gpt;
      const auto b = by_pieces(target, dir / "in.raw", &gpt);
      CHECK(a.size() == b.size());
      CHECK((a == b));
      CHECK(report.output_bytes == a.size());
      CHECK(report.gpt.action == gpt.action);
      auto info = target_info(target);
      REQUIRE(info.ok());
      const bool pads = *target_virtual_size(target, disk.size()) != disk.size();
      if (pads && (target == "azure" || target == "gcp")) {
        CHECK(gpt.action == GptReport::Action::relocated);
      }
    }
  }
}

TEST_CASE("target layer: a raw stream both ways, every target", "[target]") {
  const auto disk = gpt_disk();
  for (std::string_view target : target_names()) {
    if (target_info(target)->remote_only) continue;  // a cloud object only: tests/cloud
    DYNAMIC_SECTION(target) {
      auto a = stream_by_convert(target, disk);
      auto b = stream_by_pieces(target, disk);
      REQUIRE(a.ok() == b.ok());
      if (!a.ok()) {
        // A raw stream states no size: only targets that need it up front refuse it.
        CHECK((*target_info(target)).needs_size);
        CHECK(a.status().code() == b.status().code());
        continue;
      }
      CHECK((*a == *b));
      // The stream's padding equals the file's, except that a raw stream's GPT is stale.
      CHECK(a->size() >= *target_virtual_size(target, disk.size()));
    }
  }
}

TEST_CASE("target layer: a stream that states its size (streamOptimized VMDK) both ways",
          "[target]") {
  TempDir dir;
  const auto disk = gpt_disk();
  write_file(dir / "in.raw", disk);
  const auto vmdk = by_convert("vmdk", dir / "in.raw");
  for (std::string_view target : target_names()) {
    if (target_info(target)->remote_only) continue;  // a cloud object only: tests/cloud
    DYNAMIC_SECTION(target) {
      auto a = stream_by_convert(target, vmdk);
      INFO(a.status().to_string());
      REQUIRE(a.ok());
      auto b = stream_by_pieces(target, vmdk);
      REQUIRE(b.ok());
      CHECK((*a == *b));
      // The same bytes as from the raw file: GPT relocation of a stream equals the file's. (A
      // gcp tarball from a stream has a dense member, from a file a sparse one: same disk.raw,
      // other tar bytes.)
      if (target != "gcp") CHECK((*a == by_convert(target, dir / "in.raw")));
    }
  }
}

TEST_CASE("target layer: one naming for convert, check and measure", "[target]") {
  const auto checks = check_targets();
  for (std::string_view target : target_names()) {
    auto info = target_info(target);
    REQUIRE(info.ok());
    CHECK(info->name == target);
    // A target's rule set, when it has one, is check --for under the target's own name.
    if (!info->check.empty()) {
      CHECK(info->check == target);
      CHECK(std::find(checks.begin(), checks.end(), info->check) != checks.end());
    }
  }
}

TEST_CASE("target layer: size rules, one per target", "[target]") {
  CHECK(*target_virtual_size("raw", 1) == 1);
  CHECK(*target_virtual_size("vhd", 1) == 512);
  CHECK(*target_virtual_size("vhd", 513) == 1024);
  CHECK(*target_virtual_size("azure", 1) == 20 * kMiB);
  CHECK(*target_virtual_size("azure", 20 * kMiB + 1) == 21 * kMiB);
  CHECK(target_virtual_size("azure", (32ull << 40) + 1).status().code() == Errc::invalid_argument);
  CHECK(*target_virtual_size("gcp", 1) == 1ull << 30);
  CHECK(*target_virtual_size("gcp", (1ull << 30) + 1) == 2ull << 30);
  CHECK(target_virtual_size("nope", 1).status().code() == Errc::invalid_argument);
  CHECK_THAT(target_info("nope").status().message(), Catch::Contains("known: raw"));
}

TEST_CASE("target layer: a sink refuses a disk that was not prepared", "[target]") {
  std::vector<std::byte> out;
  for (std::string_view target : target_names()) {
    if (target_info(target)->remote_only) continue;  // a cloud object only: tests/cloud
    const std::uint64_t odd = 3 * kMiB + 100;
    if (*target_virtual_size(target, odd) == odd) continue;  // raw takes any size
    auto s = create_target(target, memory_sink(&out), odd);
    CHECK(s.status().code() == Errc::invalid_argument);
    CHECK_THAT(s.status().message(), Catch::Contains("prepare"));
  }
}

TEST_CASE("target layer: measure gives the exact size of raw and VHD outputs", "[target]") {
  TempDir dir;
  const auto disk = gpt_disk();
  write_file(dir / "in.raw", disk);
  auto source = open_image(dir / "in.raw");
  REQUIRE(source.ok());
  for (std::string_view target : target_names()) {
    if (target_info(target)->remote_only) continue;  // a cloud object only: tests/cloud
    DYNAMIC_SECTION(target) {
      auto m = measure(target, **source, pinned());
      REQUIRE(m.ok());
      const auto written = by_convert(target, dir / "in.raw");
      CHECK(m->virtual_size == disk.size());
      CHECK(m->target_size == *target_virtual_size(target, disk.size()));
      CHECK(m->output.upper_bound >= written.size());
      if (m->output.exact) CHECK(m->output.bytes == written.size());
      CHECK(m->output.bytes <= m->output.upper_bound);
    }
  }
}

}  // namespace vdisk::test

namespace vdisk::test {

TEST_CASE("target options: each target's own table, checked before anything is written",
          "[target][options]") {
  // vmdk declares its rows; a key of another target is refused naming the keys it has.
  auto vmdk = target_info("vmdk");
  REQUIRE(vmdk.ok());
  std::vector<std::string_view> keys;
  for (const auto& row : vmdk->options) keys.push_back(row.key);
  CHECK(keys ==
        std::vector<std::string_view>{"level", "subformat", "adapter", "hw-version", "uuid"});
  TargetOptions o;
  CHECK(set_target_option("vmdk", o, "adapter", "ide").ok());
  CHECK(o.settings.given("adapter") == "ide");
  Status s = set_target_option("raw", o, "adapter", "ide");
  CHECK(s.code() == Errc::invalid_argument);
  CHECK(s.message() == "raw: unknown option 'adapter' (known: none)");
  s = set_target_option("vmdk", o, "adapter", "scsi");
  CHECK(s.message() ==
        "vmdk: option 'adapter': unknown value 'scsi' (known: ide, buslogic, lsilogic, legacyESX)");
  s = set_target_option("vmdk", o, "hw-version", "22");
  CHECK(s.message() == "vmdk: option 'hw-version': '22' is not a whole number 4..21");
  CHECK(set_target_option("gcp", o, "level", "x").code() == Errc::invalid_argument);
  // Rules across options: level with monolithicSparse.
  TargetOptions m;
  REQUIRE(
      parse_options(vmdk->options, "vmdk", m.settings, "subformat=monolithicSparse,level=3").ok());
  s = check_target_options("vmdk", m);
  CHECK(s.code() == Errc::invalid_argument);
  CHECK(s.message().find("not to monolithicSparse") != std::string::npos);
  // A flag stands alone or takes on/off; a value option needs its value.
  TargetOptions f;
  CHECK(parse_options(vmdk->options, "vmdk", f.settings, "uuid").ok());
  CHECK(parse_options(vmdk->options, "vmdk", f.settings, "uuid=off,level=9").ok());
  CHECK(f.settings.given("uuid") == "off");
  CHECK(parse_options(vmdk->options, "vmdk", f.settings, "level").message() ==
        "vmdk: option 'level' needs a value (level=N)");
  CHECK(parse_options(vmdk->options, "vmdk", f.settings, "level=1,,uuid").code() ==
        Errc::invalid_argument);
  // The layouts destinations check.
  CHECK(target_info("raw")->layout == OutputLayout::disk);
  CHECK(target_info("azure")->layout == OutputLayout::fixed_vhd);
  CHECK(target_info("vhd")->layout == OutputLayout::fixed_vhd);
  CHECK(target_info("gcp")->layout == OutputLayout::encoded);
  CHECK(target_info("vmdk")->layout == OutputLayout::encoded);
  CHECK(target_info("gcp")->reads_map);
  CHECK(!target_info("vmdk")->reads_map);
}

}  // namespace vdisk::test
