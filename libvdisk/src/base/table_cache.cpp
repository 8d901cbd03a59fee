// The bounded LRU of decoded tables (see table_cache.h).
#include "base/table_cache.h"

#include <algorithm>

namespace vdisk::detail {

TableCacheCore::TableCacheCore(std::size_t max_tables)
    : max_tables_(std::max<std::size_t>(1, max_tables)) {}

std::shared_ptr<const void> TableCacheCore::find(std::uint64_t key) const {
  std::lock_guard lock(mu_);
  const auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

std::shared_ptr<const void> TableCacheCore::insert(std::uint64_t key,
                                                   std::shared_ptr<const void> table) const {
  std::lock_guard lock(mu_);
  if (const auto it = index_.find(key); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);  // another reader cached it meanwhile
    return it->second->second;
  }
  lru_.emplace_front(key, std::move(table));
  index_[key] = lru_.begin();
  while (lru_.size() > max_tables_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return lru_.front().second;
}

std::size_t TableCacheCore::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace vdisk::detail
