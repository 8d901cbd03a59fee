// The table cache (base/table_cache.h): capacity bound, least-recently-used eviction, get()'s
// loading rules, and concurrent readers seeing whole tables.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "base/table_cache.h"

using namespace vdisk;
using vdisk::detail::TableCache;

namespace {

using Table = std::vector<std::uint64_t>;

std::shared_ptr<const Table> make_table(std::uint64_t key, std::size_t n = 64) {
  auto t = std::make_shared<Table>(n);
  for (std::size_t i = 0; i < n; ++i) (*t)[i] = key * 1000 + i;
  return t;
}

}  // namespace

TEST_CASE("table cache: holds at most its capacity", "[cache]") {
  TableCache<Table> cache(4);
  CHECK(cache.capacity() == 4);
  for (std::uint64_t k = 0; k < 100; ++k) {
    cache.insert(k, make_table(k));
    CHECK(cache.size() == std::min<std::size_t>(k + 1, 4));
  }
  // The four most recent are there, the rest are not.
  for (std::uint64_t k = 0; k < 96; ++k) CHECK(cache.find(k) == nullptr);
  for (std::uint64_t k = 96; k < 100; ++k) {
    auto t = cache.find(k);
    REQUIRE(t);
    CHECK((*t)[3] == k * 1000 + 3);
  }
  TableCache<Table> zero(0);  // counts as 1
  zero.insert(1, make_table(1));
  zero.insert(2, make_table(2));
  CHECK(zero.size() == 1);
  CHECK(zero.find(2));
}

TEST_CASE("table cache: evicts the least recently used", "[cache]") {
  TableCache<Table> cache(3);
  cache.insert(1, make_table(1));
  cache.insert(2, make_table(2));
  cache.insert(3, make_table(3));
  REQUIRE(cache.find(1));          // 1 is now the most recent: 2 is the oldest
  cache.insert(4, make_table(4));  // evicts 2
  CHECK(cache.find(2) == nullptr);
  CHECK(cache.find(1));
  CHECK(cache.find(3));
  CHECK(cache.find(4));
  // Re-inserting a cached key keeps the cached table and refreshes it.
  auto first = cache.find(3);
  auto kept = cache.insert(3, make_table(99));
  CHECK(kept == first);
  cache.insert(5, make_table(5));  // evicts 1: used before 4 and 3
  CHECK(cache.size() == 3);
  CHECK(cache.find(1) == nullptr);
  CHECK(cache.find(3) == first);
  CHECK(cache.find(4));
}

TEST_CASE("table cache: a table handed out outlives its eviction", "[cache]") {
  TableCache<Table> cache(1);
  cache.insert(1, make_table(1));
  auto held = cache.find(1);
  cache.insert(2, make_table(2));
  CHECK(cache.find(1) == nullptr);
  REQUIRE(held);
  CHECK((*held)[0] == 1000);
}

TEST_CASE("table cache: get() loads on a miss, caches tables, not nulls or errors", "[cache]") {
  TableCache<Table> cache(8);
  int loads = 0;
  auto load = [&](std::uint64_t k) {
    return [&loads, k]() -> Result<std::shared_ptr<const Table>> {
      ++loads;
      if (k == 7) return corrupt("table 7 is bad");
      if (k == 0) return std::shared_ptr<const Table>();  // nothing stored there
      return make_table(k);
    };
  };
  for (int round = 0; round < 3; ++round) {
    auto t = cache.get(5, load(5));
    REQUIRE(t.ok());
    REQUIRE(*t);
    CHECK((**t)[1] == 5001);
  }
  CHECK(loads == 1);
  auto none = cache.get(0, load(0));
  REQUIRE(none.ok());
  CHECK(*none == nullptr);
  auto bad = cache.get(7, load(7));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().to_string().find("table 7 is bad") != std::string::npos);
  CHECK(cache.size() == 1);
  (void)cache.get(0, load(0));
  (void)cache.get(7, load(7));
  CHECK(loads == 5);  // neither the null nor the error was cached
}

TEST_CASE("table cache: concurrent readers get whole, correct tables", "[cache]") {
  TableCache<Table> cache(16);
  std::atomic<int> loads{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (unsigned r = 0; r < 8; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937 rng(r);
      for (int i = 0; i < 4000; ++i) {
        const std::uint64_t key = rng() % 48;  // three times the capacity: constant eviction
        auto t = cache.get(key, [&]() -> Result<std::shared_ptr<const Table>> {
          ++loads;
          return make_table(key, 512);
        });
        if (!t.ok() || !*t || (*t)->size() != 512) {
          ++wrong;
          continue;
        }
        for (std::size_t j = 0; j < 512; j += 97)
          if ((**t)[j] != key * 1000 + j) ++wrong;
        if (cache.size() > 16) ++wrong;
      }
    });
  }
  for (auto& t : readers) t.join();
  CHECK(wrong.load() == 0);
  CHECK(cache.size() <= 16);
  CHECK(loads.load() < 8 * 4000);  // hits happened
}
