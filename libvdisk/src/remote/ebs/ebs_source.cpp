// PLACEHOLDER, replaced when the branch that reads EBS snapshot sources lands (this session's work
// on issue 29): it lets the CLI link meanwhile and refuses in one line.
#include "vdisk/remote.h"

namespace vdisk {

Result<std::unique_ptr<RemoteFile>> open_ebs_source(const EbsSourceOptions&, std::stop_token) {
  return unsupported("EBS snapshot sources are not built yet");
}

}  // namespace vdisk

namespace vdisk {

bool is_ebs_source(std::string_view text) { return !ebs_snapshot_id(text).empty(); }

std::string ebs_snapshot_id(std::string_view text) {
  for (std::string_view prefix : {"ebs://", "ebs:"})
    if (text.starts_with(prefix)) {
      text.remove_prefix(prefix.size());
      if (text.starts_with("snap-") && text.size() > 5) return std::string(text);
      return {};
    }
  return {};
}

}  // namespace vdisk
