// Internal interfaces of the OVA/OVF reader (docs/ova.md): the package model shared by the
// file reader (ova_file.cpp: a tar file or a descriptor with sibling files), the stream reader
// (ova_stream.cpp: a tar on stdin) and the driver (ova_driver.cpp).
#ifndef VDISK_OVA_OVA_H_
#define VDISK_OVA_OVA_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/ova/ova_manifest.h"
#include "formats/ova/ovf_envelope.h"
#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"

namespace vdisk::ova {

// Largest descriptor read (an OVF is a few KiB; string bundles and EULAs make some larger).
inline constexpr std::uint64_t kMaxOvfBytes = 16ull << 20;
// Chunks of one chunked file (href.000000000 ...).
inline constexpr std::size_t kMaxChunks = 100000;
// Members listed in an archive (each a header of 512 bytes at least), file or stream.
inline constexpr std::size_t kMaxMembers = 65536;

// What `info` shows about the manifest.
struct ManifestState {
  std::string name;       // the .mf file, empty when the package has none
  std::string algorithm;  // of the descriptor's entry, or of the first entry
  // The digests of the descriptor and the chosen disk's files matched, and every file the
  // manifest lists is in the package.
  bool verified = false;
  bool skipped = false;  // OpenOptions::verify_manifest was false
  // Manifest entries naming files the package does not hold: their digests could not be
  // checked (verified is then false).
  std::vector<std::string> unchecked;
};

struct Package {
  std::string archive;   // the OVA or descriptor path, for messages
  std::string ovf_name;  // the descriptor's file name
  Envelope envelope;
  std::size_t disk = 0;  // the chosen disk (index into envelope.disks)
  ManifestState manifest;
  const OvfDisk& chosen_disk() const { return envelope.disks[disk]; }
  const OvfFile& chosen_file() const { return *envelope.file(chosen_disk().file_ref); }
};

// Checks options.disk_index against the envelope and the chosen disk's File (an href that is
// absolute, a URL, or leaves the package's directory with '..' unless `allow_outside`).
Status choose_disk(Package& p, const OpenOptions& options, bool allow_outside);

// The stored names of a File: its href, or href.000000000, href.000000001, ... when chunked.
std::string chunk_name(std::string_view href, std::size_t index);

// corrupt when a File's stored size (all chunks together) differs from its ovf:size, or a
// chunk other than the last is not ovf:chunkSize bytes.
Status check_chunk(const OvfFile& f, std::size_t index, std::uint64_t size, bool last,
                   std::string_view archive);
Status check_stored_size(const OvfFile& f, std::uint64_t stored, std::string_view archive);

// The digests a file needs (sha1, sha256): those its manifest entry names, both when the
// manifest has not been seen yet (a stream whose .mf comes last).
FileDigest digest_for(std::span<const ManifestEntry> manifest, bool manifest_known,
                      std::string_view name);

// Records the verified state and tells, through a note, which files the manifest does not
// list.
void note_unlisted(const OpenOptions& options, std::string_view manifest, std::string_view name);

// After the digests matched: records in p.manifest the entries of `manifest` whose files the
// package does not hold (`holds`), with a warning for each, and sets p.manifest.verified (true
// only when there is none).
void settle_manifest(Package& p, std::span<const ManifestEntry> manifest,
                     const std::function<bool(std::string_view)>& holds,
                     const OpenOptions& options);

// The package's facts for `info`: ovf, ovf_version, disk (1-based), disks [{number, file,
// capacity, format, populated_size, compression, chunk_size}], manifest {file, algorithm,
// verified, unchecked (when not empty)}.
void describe_package(const Package& p, Properties& out);

// A BlockSource reading the chosen disk's image (`inner`), describing the package.
std::unique_ptr<BlockSource> package_source(Package p, std::unique_ptr<BlockSource> inner);

// Refuses an OVA nested inside the OVA being opened (bounded recursion); held while opening.
class NestingGuard {
 public:
  NestingGuard();
  ~NestingGuard();
  NestingGuard(const NestingGuard&) = delete;
  NestingGuard& operator=(const NestingGuard&) = delete;
  bool nested() const { return nested_; }

 private:
  bool nested_;
};

// Whether `s` ends with the lowercase `suffix`, ignoring ASCII case (".ovf", ".mf").
bool ends_with_nocase(std::string_view s, std::string_view suffix);

// The readers.
Result<std::unique_ptr<BlockSource>> open_tar_file(std::unique_ptr<RandomAccessFile> file,
                                                   const std::filesystem::path& path,
                                                   const OpenOptions& options);
Result<std::unique_ptr<BlockSource>> open_descriptor_file(std::unique_ptr<RandomAccessFile> file,
                                                          const std::filesystem::path& path,
                                                          const OpenOptions& options);
Result<std::unique_ptr<StreamSource>> open_tar_stream(std::unique_ptr<InputStream> in,
                                                      const OpenOptions& options);

// A read-only file made of windows of other files, back to back (a tar member in place; the
// chunks of a chunked file). `name` is used in messages.
struct FileWindow {
  std::shared_ptr<const RandomAccessFile> file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
std::unique_ptr<RandomAccessFile> window_file(std::vector<FileWindow> windows, std::string name);

// An open options copy for the disk image inside a package: probe its format.
OpenOptions inner_options(const OpenOptions& options);

}  // namespace vdisk::ova

#endif  // VDISK_OVA_OVA_H_
