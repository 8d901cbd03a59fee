// A bounded, thread-safe LRU of decoded metadata tables (QCOW2 L2 tables, VMDK grain tables),
// keyed by a 64-bit number the format chooses (a file offset, a directory index).
//
//   reader threads --find--> cache (one lock) --miss--> load (reader's thread, no lock) --insert
//
// Guarantees:
// - Bound: at most `max_tables` tables are held (at least 1); inserting one more evicts the least
//   recently used (found or inserted). A table handed out stays alive while its holder keeps it,
//   evicted or not, so a caller's bound in bytes is max_tables * the size of one table plus the
//   tables callers hold.
// - Thread safety: every member may be called from any thread at once; find() and insert() hold
//   the lock only to look up and relink, never while a table is loaded, so readers of different
//   tables do not wait on each other's I/O. Two readers that miss the same key may both load it;
//   the first insert() wins and both get that table.
// - Tables are shared and immutable once cached: readers see a table whole or not at all.
#ifndef VDISK_UTIL_TABLE_CACHE_H_
#define VDISK_UTIL_TABLE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "vdisk/status.h"

namespace vdisk::detail {

// The cache over type-erased tables (TableCache<Table> below is the typed face).
class TableCacheCore {
 public:
  explicit TableCacheCore(std::size_t max_tables);
  // The table at `key` (now the most recently used), or nullptr when it is not cached.
  std::shared_ptr<const void> find(std::uint64_t key) const;
  // Caches `table` at `key` and returns it, evicting the least recently used table when full;
  // when `key` is cached already (another reader loaded it meanwhile) returns that table instead
  // and drops `table`.
  std::shared_ptr<const void> insert(std::uint64_t key, std::shared_ptr<const void> table) const;
  std::size_t size() const;
  std::size_t capacity() const { return max_tables_; }

 private:
  using Lru = std::list<std::pair<std::uint64_t, std::shared_ptr<const void>>>;
  std::size_t max_tables_;
  mutable std::mutex mu_;
  mutable Lru lru_;  // most recent first
  mutable std::unordered_map<std::uint64_t, Lru::iterator> index_;
};

template <class Table>
class TableCache {
 public:
  explicit TableCache(std::size_t max_tables) : core_(max_tables) {}

  std::shared_ptr<const Table> find(std::uint64_t key) const {
    return std::static_pointer_cast<const Table>(core_.find(key));
  }
  std::shared_ptr<const Table> insert(std::uint64_t key, std::shared_ptr<const Table> table) const {
    return std::static_pointer_cast<const Table>(core_.insert(key, std::move(table)));
  }
  // The table at `key`: cached, or else load() (a Result<std::shared_ptr<const Table>>, called
  // with no lock held) cached and returned. A null table from load() (nothing stored there) is
  // returned and not cached; load()'s error is returned and nothing is cached.
  template <class Load>
  Result<std::shared_ptr<const Table>> get(std::uint64_t key, Load&& load) const {
    if (auto t = find(key)) return t;
    Result<std::shared_ptr<const Table>> loaded = load();
    if (!loaded.ok() || !*loaded) return loaded;
    return insert(key, std::move(*loaded));
  }
  std::size_t size() const { return core_.size(); }
  std::size_t capacity() const { return core_.capacity(); }

 private:
  TableCacheCore core_;
};

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_TABLE_CACHE_H_
