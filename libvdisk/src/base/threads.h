// The thread count an option of "0 = one per core" stands for.
#ifndef VDISK_UTIL_THREADS_H_
#define VDISK_UTIL_THREADS_H_

#include <algorithm>
#include <thread>

namespace vdisk::detail {

// `requested`, or when it is 0 the hardware's concurrency (at least 1).
inline unsigned resolve_threads(unsigned requested) noexcept {
  return requested ? requested : std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_THREADS_H_
