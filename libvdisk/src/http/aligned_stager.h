// Stages a sequential output into aligned chunks for an UploadPool, for destinations written in
// units of `align` bytes (an Azure page blob's pages, an EBS snapshot's blocks): data is copied
// into chunks that start on an `align` boundary; a zero run closes the chunk being filled (its
// last unit padded with zeros). Then, by the stager's ZeroUnits:
//   skip  the run's whole units are never sent (where bytes never written read as zeros);
//   send  they are queued as zero jobs (UploadJob::zeros) of at most `chunk` bytes, each holding
//         a pool buffer only as its place in the queue (UploadPool::acquire_slot: no memory is
//         allocated or touched for it), so a long run is sent in parallel within the same
//         bound (an EBS snapshot that must read back exactly).
// Either way a unit partly in the run and partly in later data goes out with that data.
#ifndef VDISK_HTTP_ALIGNED_STAGER_H_
#define VDISK_HTTP_ALIGNED_STAGER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "http/upload_pool.h"
#include "vdisk/status.h"

namespace vdisk::http {

enum class ZeroUnits : std::uint8_t { skip, send };

class AlignedStager {
 public:
  // `chunk` is a multiple of `align`. Jobs' tag is their start offset.
  AlignedStager(UploadPool& pool, std::uint64_t align, std::size_t chunk,
                ZeroUnits zero_units = ZeroUnits::skip)
      : pool_(pool), align_(align), chunk_(chunk), zero_units_(zero_units) {}

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
  ZeroUnits zero_units_;
  UploadJob cur_;
  std::uint64_t pos_ = 0;
};

}  // namespace vdisk::http

#endif  // VDISK_HTTP_ALIGNED_STAGER_H_
