// Internal interfaces between the VHD input driver (vhd_driver.cpp), the dynamic/differencing
// reader (vhd_dynamic_source.cpp), parent resolution (vhd_parent.cpp) and the stream reader
// (vhd_stream.cpp).
#ifndef VDISK_VHD_VHD_READER_H_
#define VDISK_VHD_VHD_READER_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"
#include "vdisk/properties.h"
#include "formats/vhd/vhd_dynamic_header.h"
#include "formats/vhd/vhd_footer.h"

namespace vdisk::vhd {

// One ancestor of a differencing disk, nearest first.
struct ParentLink {
  std::string path;
  std::string format;
  std::string unique_id;  // empty when the parent's format has none
};

// Implemented by sources that have ancestors, so a child can report its whole chain.
class ChainedSource {
 public:
  virtual ~ChainedSource() = default;
  virtual const std::vector<ParentLink>& parent_chain() const = 0;
};

// Opens a dynamic or differencing disk whose footer (`footer`, checksum verified) was read from
// the end of `file` (`end_footer`) or, when the end holds none, from its copy at offset 0.
Result<std::unique_ptr<BlockSource>> open_dynamic(std::unique_ptr<RandomAccessFile> file,
                                                  const std::filesystem::path& path,
                                                  const OpenOptions& options, const Footer& footer,
                                                  bool end_footer);

struct OpenedParent {
  std::unique_ptr<BlockSource> source;
  std::vector<ParentLink> chain;  // the parent itself first, then its ancestors
};

// Locates the parent of the differencing disk `file` at `path` through its parent locators
// (W2ru, W2ku) and, failing those, its parent Unicode name; enforces the directory rule and
// the parent identity unless the options lift them; detects loops and caps the chain depth.
Result<OpenedParent> open_parent(const RandomAccessFile& file, const std::filesystem::path& path,
                                 const OpenOptions& options, const DynamicHeader& header);

// A fixed VHD read front to back: the footer is the last 512 bytes of the stream.
Result<std::unique_ptr<StreamSource>> open_fixed_stream(std::unique_ptr<InputStream> in,
                                                        const OpenOptions& options);

// Facts every VHD reports: creator, version, host OS, geometry, unique id, timestamp, saved
// state.
void describe_footer(const Footer& f, Properties& out);

}  // namespace vdisk::vhd

#endif  // VDISK_VHD_VHD_READER_H_
