// OVF manifests (docs/ova.md, "Manifest"): lines `ALG(name)= hex` (SHA1, SHA256; SHA512 is
// recognised and refused), and the digests of the files they list, computed over each file's
// bytes as stored (the gzip'd file; each chunk of a chunked file is listed on its own).
#ifndef VDISK_OVA_OVA_MANIFEST_H_
#define VDISK_OVA_OVA_MANIFEST_H_

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "checksum/sha1.h"
#include "checksum/sha256.h"
#include "vdisk/status.h"

namespace vdisk::ova {

inline constexpr std::uint64_t kMaxManifestBytes = 1 << 20;

struct ManifestEntry {
  std::string algorithm;  // "SHA1", "SHA256", "SHA512" (as written, upper-cased)
  std::string name;
  std::string digest;  // lowercase hex
};

// Parses a manifest (`what` names it in messages). corrupt for a line that is not
// `ALG(name)= hex` (spaces around '(' and '=' are tolerated), a digest of the wrong length for
// its algorithm, or a name listed twice.
Result<std::vector<ManifestEntry>> parse_manifest(std::string_view text, std::string_view what);

// The entry for `name`, or nullptr.
const ManifestEntry* find_entry(std::span<const ManifestEntry> entries, std::string_view name);

// The names of the entries whose files the package does not hold (`holds(name)` is false), in
// manifest order: their digests cannot be checked.
std::vector<std::string> entries_not_held(std::span<const ManifestEntry> entries,
                                          const std::function<bool(std::string_view)>& holds);

// SHA-1 and/or SHA-256 of one file's stored bytes, as they pass.
class FileDigest {
 public:
  FileDigest(bool sha1, bool sha256);
  void update(std::span<const std::byte> data);
  // Ends the digests (once).
  void finish();
  // The finished hex digest for `algorithm`, or nullopt when it was not computed.
  std::optional<std::string> hex(std::string_view algorithm) const;

 private:
  std::unique_ptr<checksum::Sha1> sha1_;
  std::unique_ptr<checksum::Sha256> sha256_;
  std::string sha1_hex_, sha256_hex_;
};

// Compares a finished digest of `file` with the manifest `what`'s entry: ok when they agree or
// the manifest does not list the file (the caller notes that); corrupt naming the file, the
// algorithm, expected and found; unsupported for an algorithm that was not computed.
Status verify_digest(const ManifestEntry& entry, const FileDigest& digest,
                     std::string_view manifest);

}  // namespace vdisk::ova

#endif  // VDISK_OVA_OVA_MANIFEST_H_
