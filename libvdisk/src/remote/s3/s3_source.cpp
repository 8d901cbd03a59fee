// PLACEHOLDER, replaced when the branch that reads S3 sources lands (this session's work on
// issue 29): it lets the CLI link meanwhile and refuses in one line.
#include "vdisk/remote.h"

namespace vdisk {

Result<std::unique_ptr<RemoteFile>> open_s3_source(const S3SourceOptions&, std::stop_token) {
  return unsupported("S3 sources are not built yet");
}

}  // namespace vdisk
