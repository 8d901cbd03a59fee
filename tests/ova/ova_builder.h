// Builds small OVF packages in memory for the OVA tests and fuzz seeds: an OVF 1.0 descriptor
// listing raw disks (any format the registry probes may sit inside a package), optional SHA-1
// or SHA-256 manifest, gzip'd and chunked files, as a tar archive.
#ifndef VDISK_TESTS_OVA_BUILDER_H_
#define VDISK_TESTS_OVA_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vdisk::test {

using Bytes = std::vector<std::byte>;

struct OvaDisk {
  std::string href = "disk1.img";
  Bytes data;                                // the stored file (before chunking)
  std::optional<std::uint64_t> stated_size;  // ovf:size written (default: data.size())
  std::optional<std::uint64_t> chunk;        // ovf:chunkSize
  bool gzip = false;                         // data is already gzip'd; says so in the OVF
  std::uint64_t capacity = 0;                // ovf:capacity (bytes); 0 = data.size()
};

struct OvaSpec {
  std::string name = "vm";  // vm.ovf, vm.mf
  std::vector<OvaDisk> disks;
  std::string manifest;  // "", "SHA1" or "SHA256"
  bool manifest_last = false;
  bool corrupt_digest = false;  // flips a digit of the disk's entry
  std::string ovf_override;     // when set, the descriptor text instead of the generated one
};

std::string ovf_text(const OvaSpec& spec);
// The package's files in tar order.
std::vector<std::pair<std::string, Bytes>> ova_files(const OvaSpec& spec);
Bytes make_tar(const std::vector<std::pair<std::string, Bytes>>& files);
Bytes make_ova(const OvaSpec& spec);
Bytes gzip_bytes(const Bytes& data);
Bytes bytes_of(const std::string& s);

}  // namespace vdisk::test

#endif  // VDISK_TESTS_OVA_BUILDER_H_
