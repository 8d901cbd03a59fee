// The EBS snapshot source (vdisk/remote.h open_ebs_source; docs/cloud.md, "Reading EBS
// snapshots"): an EbsFetcher under remote::block_file().
//
//   open: ListSnapshotBlocks, every page (the map: blocks not listed read as zeros); with
//         `since`: one page of the earlier snapshot's list (its sizes), then ListChangedBlocks,
//         every page (changes())
//   fetch: GetSnapshotBlock of one snapshot block (the cache block), checked: x-amz-Data-Length,
//          the body's length and its SHA-256 against x-amz-Checksum; a reply that fails the check
//          is fetched again (HttpOptions::max_attempts in all), then io_error naming the
//          snapshot, the block, its offset, expected and found.
//
// Guarantees:
// - The size is VolumeSize GiB; the block size the reply's BlockSize (a power of two,
//   512 B..1 MiB), the same on every page and, with `since`, on both snapshots with the same
//   volume size (else failed_precondition naming both).
// - Every list is hostile input (ebs_lists.h): indexes strictly ascending across pages too,
//   inside the volume, pages bounded; the map is held compactly (an index vector and one arena
//   of tokens: 16 bytes and the token per block listed).
// - changes(): the blocks ListChangedBlocks lists, as data (a SecondBlockToken: read with it)
//   or unallocated (a FirstBlockToken only: zeros now, and ListSnapshotBlocks must not list
//   it); merged into sorted disjoint ranges.
// - Slots: AwsOptions::http.connections, one EbsClient each. Their requests (and the pauses
//   between fetches of a reply that failed its check) end when the caller's stop token is
//   triggered or the file is destroyed (BlockFetcher::cancel).
#ifndef VDISK_REMOTE_EBS_EBS_SOURCE_H_
#define VDISK_REMOTE_EBS_EBS_SOURCE_H_

#include <functional>
#include <memory>
#include <stop_token>

#include "remote/ebs/ebs_client.h"
#include "vdisk/remote.h"

namespace vdisk::aws {

// Makes one client over `aws` (the options with the source's retry counting added) whose
// requests honour `stop` (the caller's stop token, or the file's destruction: cancel()).
using EbsClientFactory =
    std::function<Result<std::unique_ptr<EbsClient>>(const AwsOptions& aws, std::stop_token stop)>;

// open_ebs_source() with the clients `make` gives (a test's scripted connections).
Result<std::unique_ptr<RemoteFile>> open_ebs_source_with(const EbsSourceOptions& options,
                                                         const EbsClientFactory& make,
                                                         std::stop_token stop);

// The error a snapshot that is not the expected one gets: failed_precondition in the public
// API's words. Errc has no such code yet: invalid_argument (exit 1, a usage error) until it does.
Status failed_precondition(std::string message);

}  // namespace vdisk::aws

#endif  // VDISK_REMOTE_EBS_EBS_SOURCE_H_
