// OVF package builder for tests (see ova_builder.h).
#include "ova_builder.h"

#include <zlib.h>

#include <cstring>

#include <fmt/format.h>

#include "checksum/sha1.h"
#include "checksum/sha256.h"
#include "tar/tar.h"

namespace vdisk::test {

Bytes bytes_of(const std::string& s) {
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

std::string ovf_text(const OvaSpec& spec) {
  if (!spec.ovf_override.empty()) return spec.ovf_override;
  std::string refs, disks;
  for (std::size_t i = 0; i < spec.disks.size(); ++i) {
    const OvaDisk& d = spec.disks[i];
    refs += fmt::format("    <ovf:File ovf:id=\"file{}\" ovf:href=\"{}\" ovf:size=\"{}\"{}{}/>\n",
                        i + 1, d.href, d.stated_size.value_or(d.data.size()),
                        d.gzip ? " ovf:compression=\"gzip\"" : "",
                        d.chunk ? fmt::format(" ovf:chunkSize=\"{}\"", *d.chunk) : "");
    disks += fmt::format(
        "    <ovf:Disk ovf:diskId=\"vmdisk{}\" ovf:fileRef=\"file{}\" ovf:capacity=\"{}\" "
        "ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/"
        ">\n",
        i + 1, i + 1, d.capacity ? d.capacity : d.data.size());
  }
  return fmt::format(
      "<?xml version=\"1.0\"?>\n<ovf:Envelope "
      "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">\n"
      "  <ovf:References>\n{}  </ovf:References>\n  <ovf:DiskSection><ovf:Info>disks</ovf:Info>\n{}"
      "  </ovf:DiskSection>\n</ovf:Envelope>\n",
      refs, disks);
}

std::vector<std::pair<std::string, Bytes>> ova_files(const OvaSpec& spec) {
  std::vector<std::pair<std::string, Bytes>> files;
  files.emplace_back(spec.name + ".ovf", bytes_of(ovf_text(spec)));
  for (const OvaDisk& d : spec.disks) {
    if (!d.chunk) {
      files.emplace_back(d.href, d.data);
      continue;
    }
    for (std::size_t off = 0, i = 0; off < d.data.size(); off += *d.chunk, ++i) {
      const std::size_t n = std::min<std::size_t>(*d.chunk, d.data.size() - off);
      files.emplace_back(fmt::format("{}.{:09}", d.href, i),
                         Bytes(d.data.begin() + static_cast<std::ptrdiff_t>(off),
                               d.data.begin() + static_cast<std::ptrdiff_t>(off + n)));
    }
  }
  if (spec.manifest.empty()) return files;
  std::string mf;
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::string hex;
    if (spec.manifest == "SHA1") {
      checksum::Sha1 h;
      h.update(files[i].second);
      hex = h.hex();
    } else {
      checksum::Sha256 h;
      h.update(files[i].second);
      hex = h.hex();
    }
    if (spec.corrupt_digest && i == 1) hex[0] = hex[0] == '0' ? '1' : '0';
    mf += fmt::format("{}({})= {}\n", spec.manifest, files[i].first, hex);
  }
  auto entry = std::make_pair(spec.name + ".mf", bytes_of(mf));
  if (spec.manifest_last)
    files.push_back(std::move(entry));
  else
    files.insert(files.begin() + 1, std::move(entry));
  return files;
}

Bytes make_tar(const std::vector<std::pair<std::string, Bytes>>& files) {
  Bytes out;
  for (const auto& [name, data] : files) {
    gcp::MemberSpec m;
    m.name = name;
    m.real_size = data.size();
    const auto header = gcp::encode_member_header(m);
    out.insert(out.end(), header->begin(), header->end());
    out.insert(out.end(), data.begin(), data.end());
    out.resize((out.size() + 511) / 512 * 512);
  }
  out.resize(out.size() + 1024);
  return out;
}

Bytes make_ova(const OvaSpec& spec) { return make_tar(ova_files(spec)); }

Bytes gzip_bytes(const Bytes& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&z, static_cast<uLong>(data.size())) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace vdisk::test
