// Test and benchmark driver for the VMDK writer (formats/vmdk/vmdk_writer.h): raw file in, VMDK out.
//   vmdk_write_tool [--subformat streamOptimized|monolithicSparse] [--level N] [--threads N]
//                   [--engine zlib|isal|libdeflate --engine-level N] [--adapter A]
//                   [--name NAME] [--chunk BYTES] IN.raw OUT.vmdk|-
// The descriptor's extent line names OUT's basename unless --name is given ("disk.vmdk" for -).
// The raw file is read in chunks (1 MiB by default); all-zero chunks are passed as
// write_zeroes(), as the copy pipeline does. "-" writes to stdout. Prints the seconds spent and
// the output size to stderr. Exit 0 on success, 1 on a writer error, 2 on bad usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/zero.h"
#include "vdisk/io.h"
#include "formats/vmdk/vmdk_writer.h"

using namespace vdisk;

namespace {

int usage(const char* why) {
  std::fprintf(stderr, "vmdk_write_tool: %s\n", why);
  return 2;
}

Status convert(const std::string& in_path, const std::string& out_path,
               const vmdk::WriterOptions& o, std::size_t chunk) {
  VDISK_ASSIGN_OR_RETURN(auto in, open_file(in_path));
  std::unique_ptr<ByteSink> out;
  if (out_path == "-") {
    out = fd_sink(1, "<stdout>");
  } else {
    FileSinkOptions fo;
    fo.overwrite = true;
    fo.sync = false;
    VDISK_ASSIGN_OR_RETURN(out, create_file_sink(out_path, fo));
  }
  VDISK_ASSIGN_OR_RETURN(auto sink, vmdk::make_writer(std::move(out), in->size(), o));
  std::vector<std::byte> buf(chunk);
  for (std::uint64_t at = 0; at < in->size();) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, in->size() - at));
    auto part = std::span(buf).first(n);
    VDISK_RETURN_IF_ERROR(in->read_at(at, part));
    if (detail::is_zero(part)) {
      VDISK_RETURN_IF_ERROR(sink->write_zeroes(at, n));
    } else {
      VDISK_RETURN_IF_ERROR(sink->write(at, part));
    }
    at += n;
  }
  return sink->finish();
}

}  // namespace

int main(int argc, char** argv) {
  vmdk::WriterOptions o;
  std::size_t chunk = 1u << 20;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--subformat") {
      auto s = vmdk::parse_subformat(value());
      if (!s.ok()) return usage(s.status().message().c_str());
      o.subformat = *s;
    } else if (a == "--level") {
      o.level = std::atoi(value().c_str());
    } else if (a == "--threads") {
      o.threads = static_cast<unsigned>(std::atoi(value().c_str()));
    } else if (a == "--engine") {
      const std::string e = value();
      o.engine_override = e == "isal"         ? codec::Engine::isal
                          : e == "libdeflate" ? codec::Engine::libdeflate
                                              : codec::Engine::zlib;
    } else if (a == "--engine-level") {
      o.engine_level_override = std::atoi(value().c_str());
    } else if (a == "--adapter") {
      o.adapter = value();
    } else if (a == "--name") {
      o.file_name = value();
    } else if (a == "--chunk") {
      chunk = static_cast<std::size_t>(std::atoll(value().c_str()));
      if (chunk == 0) return usage("--chunk must be > 0");
    } else {
      files.push_back(a);
    }
  }
  if (files.size() != 2) return usage("expected IN.raw OUT.vmdk");
  // The extent line names the output file itself, as `vdconvert --to vmdk` will.
  if (o.file_name.empty() && files[1] != "-")
    o.file_name = std::filesystem::path(files[1]).filename().string();
  // A pinned uuid keeps outputs reproducible.
  for (std::size_t i = 0; i < o.uuid.size(); ++i) o.uuid[i] = static_cast<std::uint8_t>(0x10 + i);
  const auto t0 = std::chrono::steady_clock::now();
  const Status st = convert(files[0], files[1], o, chunk);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!st.ok()) {
    std::fprintf(stderr, "vmdk_write_tool: %s\n", st.to_string().c_str());
    return 1;
  }
  std::fprintf(stderr, "vmdk_write_tool: %.3f s\n", secs);
  return 0;
}
