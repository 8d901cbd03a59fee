// Stages a sequential output into aligned chunks for an UploadPool, for destinations where
// bytes never written read as zeros (an Azure page blob, an EBS snapshot): data is copied into
// chunks that start on an `align` boundary; a zero run closes the chunk being filled (its last
// unit padded with zeros) and is skipped, never sent.
#ifndef VDISK_HTTP_ALIGNED_STAGER_H_
#define VDISK_HTTP_ALIGNED_STAGER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "http/upload_pool.h"
#include "vdisk/status.h"

namespace vdisk::http {

class AlignedStager {
 public:
  // `chunk` is a multiple of `align`. Jobs' tag is their start offset.
  AlignedStager(UploadPool& pool, std::uint64_t align, std::size_t chunk)
      : pool_(pool), align_(align), chunk_(chunk) {}

  Status write(std::span<const std::byte> data);
  Status write_zeroes(std::uint64_t n);
  std::uint64_t position() const { return pos_; }
  // The chunk being filled (size 0 when none), to be sent by the caller; the stager is empty
  // afterwards. Its size is padded to whole units with zeros.
  UploadJob take_last();

 private:
  Status start();
  Status dispatch();

  UploadPool& pool_;
  std::uint64_t align_;
  std::size_t chunk_;
  UploadJob cur_;
  std::uint64_t pos_ = 0;
};

}  // namespace vdisk::http

#endif  // VDISK_HTTP_ALIGNED_STAGER_H_
