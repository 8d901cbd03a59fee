// Formats libvdisk recognises but does not read: other disk-image formats (QCOW v1 and damaged
// QCOW2 headers, QED, Parallels, DMG, Bochs, cloop, LUKS), compressed files (gzip, xz, zstd,
// bzip2, lz4) and archives (tar, GCP image tarballs, and a tar whose first member is an .ovf the
// OVA driver does not claim). The registry (image/registry.cpp) asks these recognisers only
// when no readable format's probe is certain, so an input that carries one of these signatures
// is refused with a message naming what it is and what to do, never converted as a raw disk
// (docs/probing.md). QCOW2, VHDX, VDI and OVA are read by their own drivers, which claim every
// input with their signature: recognise_vhdx() is never reached for a file and recognise_vdi()
// steps aside.
//
// Recognisers are pure functions of the probe bytes: no I/O, no allocation in proportion to the
// data, every field bounds-checked before use.
#ifndef VDISK_SIGNATURES_SIGNATURES_H_
#define VDISK_SIGNATURES_SIGNATURES_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contract/format_driver.h"
#include "vdisk/status.h"

namespace vdisk::signatures {

struct Recognition {
  std::string_view format;  // short name: "qcow2", "vhdx", "gzip", "ova", "gcp-tarball", ...
  std::string description;  // "QEMU copy-on-write image", "gzip-compressed file"
  std::string version;      // as the header states it; may be empty
  std::optional<std::uint64_t> virtual_size;               // when the header states it
  std::vector<std::pair<std::string, std::string>> facts;  // further (key, value) pairs
  std::string advice;  // what to do instead, one clause: "decompress it first: ..."
  // ok, or corrupt when the signature is there but the structure behind it is impossible
  // (truncated header, fields out of range): a damaged image of that format.
  Status damage;
  // The one-line refusal: unsupported naming the format and the advice, or `damage`.
  Status refusal() const;
};

// True when `b` holds `magic` at offset `at`.
inline bool has_magic(std::span<const std::byte> b, std::string_view magic, std::size_t at = 0) {
  return b.size() >= at + magic.size() &&
         std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}

// The best recognition of `data`, or nullopt when no signature here matches.
std::optional<Recognition> recognise(const detail::ProbeData& data);

// One recogniser per format family; nullopt when the signature is absent.
std::optional<Recognition> recognise_qcow(const detail::ProbeData& d);
std::optional<Recognition> recognise_qed(const detail::ProbeData& d);
std::optional<Recognition> recognise_vhdx(const detail::ProbeData& d);
std::optional<Recognition> recognise_vdi(const detail::ProbeData& d);
std::optional<Recognition> recognise_parallels(const detail::ProbeData& d);
std::optional<Recognition> recognise_dmg(const detail::ProbeData& d);
std::optional<Recognition> recognise_bochs(const detail::ProbeData& d);
std::optional<Recognition> recognise_cloop(const detail::ProbeData& d);
std::optional<Recognition> recognise_luks(const detail::ProbeData& d);
std::optional<Recognition> recognise_compressed(const detail::ProbeData& d);  // xz zstd bzip2 lz4
std::optional<Recognition> recognise_gzip(const detail::ProbeData& d);        // incl. GCP tarballs
std::optional<Recognition> recognise_tar(const detail::ProbeData& d);         // incl. OVA

}  // namespace vdisk::signatures

#endif  // VDISK_SIGNATURES_SIGNATURES_H_
