// The Azure page-blob destination (vdisk/cloud.h, azure_page_blob; docs/cloud.md, "Azure page
// blobs" and "Reading Azure blobs" for --update), with its clients made by a ClientMaker so a
// test can run it over scripted connections.
//
// Metadata it keeps on a blob it writes (never on a managed disk's, which takes none):
//   vdconvert_job      the conversion's fingerprint (AzureBlobOptions::job_fingerprint), for
//   --resume vdconvert_size     the blob's length vdconvertsource    the identity of the content it
//   holds (RemoteOutput::set_source), when
//                      the source has one ("ebs:snap-..."); what --update compares with the
//                      changes' base
//   vdconvertupdating  while an update runs: the identity it brings the blob to (a blob left
//                      with it holds a mix; only the same update may continue)
#ifndef VDISK_REMOTE_AZURE_BLOB_PAGE_BLOB_OUTPUT_H_
#define VDISK_REMOTE_AZURE_BLOB_PAGE_BLOB_OUTPUT_H_

#include <memory>

#include "remote/azure_blob/blob_client.h"
#include "vdisk/cloud.h"

namespace vdisk::azure {

inline constexpr const char* kMetaJob = "vdconvert_job";
inline constexpr const char* kMetaSize = "vdconvert_size";
inline constexpr const char* kMetaSource = "vdconvertsource";
inline constexpr const char* kMetaUpdating = "vdconvertupdating";

// azure_page_blob() with clients from `make`.
Result<std::unique_ptr<RemoteOutput>> page_blob_output(AzureBlobOptions options, ClientMaker make);

}  // namespace vdisk::azure

#endif  // VDISK_REMOTE_AZURE_BLOB_PAGE_BLOB_OUTPUT_H_
