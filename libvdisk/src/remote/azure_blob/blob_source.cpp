// PLACEHOLDER, replaced when the branch that reads Azure blob sources lands (this session's work on
// issue 29): it lets the CLI link meanwhile and refuses in one line.
#include "vdisk/remote.h"

namespace vdisk {

Result<std::unique_ptr<RemoteFile>> open_azure_blob_source(const AzureBlobSourceOptions&,
                                                           std::stop_token) {
  return unsupported("Azure blob sources are not built yet");
}

}  // namespace vdisk
