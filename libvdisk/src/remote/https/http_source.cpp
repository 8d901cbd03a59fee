// PLACEHOLDER, replaced when the branch that reads HTTP(S) sources lands (this session's work on
// issue 29): it lets the CLI link meanwhile and refuses in one line.
#include "vdisk/remote.h"

namespace vdisk {

Result<HttpSource> open_http_source(const HttpSourceOptions&, std::stop_token) {
  return unsupported("HTTP(S) sources are not built yet");
}

}  // namespace vdisk
