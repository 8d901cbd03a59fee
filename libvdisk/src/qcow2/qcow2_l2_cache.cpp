// The bounded LRU of decoded L2 tables shared by a source's concurrent readers.
#include "qcow2/qcow2_reader.h"

namespace vdisk::qcow2 {

std::shared_ptr<const L2Table> L2Cache::find(std::uint64_t offset) const {
  std::lock_guard lock(mu_);
  const auto it = index_.find(offset);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void L2Cache::insert(std::uint64_t offset, std::shared_ptr<const L2Table> table) const {
  std::lock_guard lock(mu_);
  if (const auto it = index_.find(offset); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);  // another reader cached it meanwhile
    return;
  }
  lru_.emplace_front(offset, std::move(table));
  index_[offset] = lru_.begin();
  while (lru_.size() > max_tables_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

}  // namespace vdisk::qcow2
