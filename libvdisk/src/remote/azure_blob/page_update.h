// The arithmetic of --update (AzureBlobOptions::update; docs/cloud.md, "Updating a page blob in
// place (`--update`)"), apart from the requests page_blob_output.cpp makes: whether a blob may
// be updated, which pages an update writes, and how a piece of them splits into Put Page and
// clears.
#ifndef VDISK_REMOTE_AZURE_BLOB_PAGE_UPDATE_H_
#define VDISK_REMOTE_AZURE_BLOB_PAGE_UPDATE_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "remote/azure_blob/blob_client.h"
#include "vdisk/remote.h"

namespace vdisk::azure {

// Zero runs shorter than this between data pages of a changed range go out with the data
// (one Put Page) rather than as a clear between two puts.
inline constexpr std::uint64_t kZeroGapBytes = 64u << 10;

// The pages an update of the blob `p` (`display`: redacted, for messages) to an output of
// `length` bytes writes: `changes`' ranges rounded out to whole pages and merged, and the last
// page (the VHD footer, written after the disk). Refused (invalid_argument, one line naming what
// was expected and what was found) unless the blob exists, is a page blob of exactly `length`
// bytes, records changes.base as its source (metadata vdconvertsource), and carries no mark of
// an interrupted update to another version (vdconvertupdating); and for ranges out of order or
// past the output.
Result<std::vector<PageRange>> plan_update(const BlobProperties& p, const ChangeSet& changes,
                                           std::uint64_t length, std::string_view display);

// The runs of non-zero pages of `piece` (page-aligned), whose bytes are those of `bytes` from
// offset `origin` on; runs less than `gap` apart are joined (the zeros between included).
std::vector<PageRange> data_runs(std::span<const std::byte> bytes, std::uint64_t origin,
                                 const PageRange& piece, std::uint64_t gap);

}  // namespace vdisk::azure

#endif  // VDISK_REMOTE_AZURE_BLOB_PAGE_UPDATE_H_
