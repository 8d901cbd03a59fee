// For cloud.azure_source: writes a page blob through the library's destination
// (vdisk::azure_page_blob) from a file holding the output's bytes, as convert() would: the
// whole output in order, zero runs as write_zeroes, after RemoteOutput::set_source().
//
//   azure_update_tool full URL FILE IDENTITY
//     a full copy (--force) that records IDENTITY as the blob's source
//   azure_update_tool update URL FILE IDENTITY BASE OFFSET+LENGTH[,OFFSET+LENGTH...]
//     --update from BASE to IDENTITY, given the changed ranges by hand (what an incremental
//     EBS source would pass)
//
// Prints the upload's stats as one JSON object; on failure one line "ERRC: message" on stderr
// and exit 1.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/cloud.h"
#include "vdisk/remote.h"

namespace {

int fail(const vdisk::Status& s) {
  std::cerr << vdisk::errc_name(s.code()) << ": " << s.message() << "\n";
  return 1;
}

bool is_zero(const std::vector<char>& b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (b[i]) return false;
  return true;
}

std::vector<vdisk::Extent> parse_ranges(std::string_view text) {
  std::vector<vdisk::Extent> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string item(text.substr(0, comma));
    const std::size_t plus = item.find('+');
    out.push_back({std::stoull(item.substr(0, plus)), std::stoull(item.substr(plus + 1)),
                   vdisk::ExtentKind::data});
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  const bool update = !a.empty() && a[0] == "update";
  if (a.size() != (update ? 6u : 4u) || (!update && a[0] != "full")) {
    std::cerr << "usage: azure_update_tool full URL FILE IDENTITY\n"
                 "       azure_update_tool update URL FILE IDENTITY BASE OFF+LEN[,...]\n";
    return 2;
  }
  std::ifstream in(a[2], std::ios::binary | std::ios::ate);
  if (!in) return fail(vdisk::not_found("cannot open " + a[2]));
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);

  vdisk::AzureBlobOptions o;
  o.url = a[1];
  o.update = update;
  o.overwrite = !update;
  o.http.connections = 4;
  auto out = vdisk::azure_page_blob(o);
  if (!out.ok()) return fail(out.status());
  vdisk::ChangeSet cs;
  if (update) {
    cs.base = a[4];
    cs.identity = a[3];
    cs.disk_bytes = size - 512;
    cs.ranges = parse_ranges(a[5]);
  }
  if (auto s = (*out)->set_source(a[3], update ? &cs : nullptr); !s.ok()) return fail(s);
  auto sink = (*out)->open(size, {});
  if (!sink.ok()) return fail(sink.status());
  std::vector<char> buf(64 << 10);
  for (std::uint64_t at = 0; at < size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - at));
    if (!in.read(buf.data(), static_cast<std::streamsize>(n)))
      return fail(vdisk::io_error("short read of " + a[2]));
    vdisk::Status s = is_zero(buf, n) ? (*sink)->write_zeroes(n)
                                      : (*sink)->write(std::as_bytes(std::span(buf.data(), n)));
    if (!s.ok()) return fail(s);
    at += n;
  }
  if (auto s = (*sink)->finish(); !s.ok()) return fail(s);
  const vdisk::UploadStats st = (*out)->stats();
  std::printf(
      "{\"requests\": %llu, \"bytes_sent\": %llu, \"ranges_cleared\": %llu, \"bytes_skipped\": "
      "%llu, \"created\": %s}\n",
      static_cast<unsigned long long>(st.requests), static_cast<unsigned long long>(st.bytes_sent),
      static_cast<unsigned long long>(st.ranges_cleared),
      static_cast<unsigned long long>(st.bytes_skipped), st.created ? "true" : "false");
  return 0;
}
