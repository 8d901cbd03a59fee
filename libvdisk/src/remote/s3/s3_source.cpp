// PLACEHOLDER, replaced when the branch that reads unique_ptr<RemoteFile>:S3SourceOptions:S3 sources lands (this session's work on
// issue 29): it lets the CLI link meanwhile and refuses in one line.
#include "vdisk/remote.h"

namespace vdisk {

Result<std> open_s3_source(const &, std::stop_token) {
  return unsupported("unique_ptr<RemoteFile>:S3SourceOptions:S3 sources are not built yet");
}

}  // namespace vdisk
