// An Azure blob read as a source (vdisk/remote.h, open_azure_blob_source; docs/cloud.md,
// "Reading Azure blobs"): a BlobFetcher under remote::block_file().
//
//   open_blob_source: Get Blob Properties (length, type, ETag), Get Page Ranges of a page blob
//     --> BlobFetcher::fetch: ranged Get Blob of the block's page ranges only, ETag pinned
//     --> remote::block_file (cache, read-ahead) --> RemoteFile
//
// Guarantees:
// - A page blob's page ranges are its map: allocation() reports the rest unallocated, a cache
//   block with no page range is never fetched, and a block is fetched as the pieces its ranges
//   cover (pieces less than kMergeGapBytes apart fetched as one), the rest zeros. Any other blob
//   type is all data.
// - Every Get Blob carries If-Match with the ETag Get Blob Properties gave: a blob changed while
//   it is read fails the read (io_error), never mixes versions. Each reply is checked: status
//   206 (200 for the whole blob), the exact Content-Range, the exact length, and the range's
//   Content-MD5 when the service sends it (a mismatch is retried like a failed attempt).
// - Messages name the blob (SAS signature redacted) and the range (so the offset).
// - Requests (all that succeeded), retries and data bytes received go to the fetcher's
//   SourceCounters.
#ifndef VDISK_REMOTE_AZURE_BLOB_BLOB_SOURCE_H_
#define VDISK_REMOTE_AZURE_BLOB_BLOB_SOURCE_H_

#include <cstdint>
#include <memory>
#include <stop_token>
#include <vector>

#include "remote/azure_blob/blob_client.h"
#include "vdisk/remote.h"

namespace vdisk::azure {

// Page ranges closer than this within a block are fetched by one request (the gap's zeros
// cost fewer bytes than another request's latency).
inline constexpr std::uint64_t kMergeGapBytes = 64u << 10;
// The fetch unit when SourceCacheOptions::block_bytes is 0.
inline constexpr std::uint64_t kSourceBlockBytes = 1u << 20;

// open_azure_blob_source with clients from `make` (a test's scripted connections).
Result<std::unique_ptr<RemoteFile>> open_blob_source(const AzureBlobSourceOptions& options,
                                                     const ClientMaker& make, std::stop_token stop);

}  // namespace vdisk::azure

#endif  // VDISK_REMOTE_AZURE_BLOB_BLOB_SOURCE_H_
