// See aligned_stager.h.
#include "http/aligned_stager.h"

#include <algorithm>

namespace vdisk::http {

Status AlignedStager::start() {
  VDISK_ASSIGN_OR_RETURN(cur_.data, pool_.acquire(chunk_));
  cur_.tag = pos_ - pos_ % align_;
  cur_.size = static_cast<std::size_t>(pos_ - cur_.tag);
  std::fill_n(cur_.data.begin(), cur_.size, std::byte{0});  // the unit's head held zeros
  return {};
}

Status AlignedStager::dispatch() {
  UploadJob j = std::move(cur_);
  cur_ = {};
  return pool_.submit(std::move(j));
}

Status AlignedStager::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    if (cur_.data.empty()) VDISK_RETURN_IF_ERROR(start());
    const std::size_t k = std::min(data.size(), chunk_ - cur_.size);
    std::copy_n(data.begin(), k, cur_.data.begin() + static_cast<std::ptrdiff_t>(cur_.size));
    cur_.size += k;
    pos_ += k;
    data = data.subspan(k);
    if (cur_.size == chunk_) VDISK_RETURN_IF_ERROR(dispatch());
  }
  return {};
}

Status AlignedStager::write_zeroes(std::uint64_t n) {
  if (!cur_.data.empty()) {
    // Finish the unit being filled with zeros, then send what is staged.
    const std::uint64_t pad = std::min<std::uint64_t>(n, (align_ - pos_ % align_) % align_);
    std::fill_n(cur_.data.begin() + static_cast<std::ptrdiff_t>(cur_.size), pad, std::byte{0});
    cur_.size += static_cast<std::size_t>(pad);
    pos_ += pad;
    n -= pad;
    if (n == 0) return {};
    VDISK_RETURN_IF_ERROR(dispatch());
  }
  if (zero_units_ == ZeroUnits::send) {
    // Nothing is staged: the unit holding pos_ has held only zeros so far (a unit reached by
    // data is staged or sent whole), so the run's units start there and end where the run
    // completes its last one.
    std::uint64_t from = pos_ - pos_ % align_;
    const std::uint64_t to = (pos_ + n) - (pos_ + n) % align_;
    while (from < to) {
      UploadJob z;
      VDISK_ASSIGN_OR_RETURN(z.data, pool_.acquire_slot());
      z.tag = from;
      z.size = static_cast<std::size_t>(std::min<std::uint64_t>(to - from, chunk_));
      z.zeros = true;
      from += z.size;
      VDISK_RETURN_IF_ERROR(pool_.submit(std::move(z)));
    }
  }
  pos_ += n;  // skip: never written, reads as zeros
  return {};
}

UploadJob AlignedStager::take_last() {
  UploadJob j = std::move(cur_);
  cur_ = {};
  if (j.size % align_) {
    const std::size_t padded = static_cast<std::size_t>(j.size + (align_ - j.size % align_));
    std::fill(j.data.begin() + static_cast<std::ptrdiff_t>(j.size),
              j.data.begin() + static_cast<std::ptrdiff_t>(padded), std::byte{0});
    j.size = padded;
  }
  return j;
}

}  // namespace vdisk::http
