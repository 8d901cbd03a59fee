// The ordered job pool (pipeline/ordered_jobs.h): submission order kept for any thread count and
// any job durations, bounded jobs in flight, the first error stops and is reported, and a caller
// that stops early (or fails) never deadlocks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "pipeline/ordered_jobs.h"

using namespace vdisk;
using vdisk::detail::OrderedJob;
using vdisk::detail::OrderedJobs;

namespace {

struct TestJob : OrderedJob {
  int index = -1;
  unsigned sleep_us = 0;
  int result = 0;
  unsigned uses = 0;  // times acquired
};

void nap(unsigned us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); }

// Submits `n` jobs with random durations; returns the results in the order consumed.
std::vector<int> run_pool(unsigned threads, int n, std::uint32_t seed, std::size_t* peak_jobs) {
  std::vector<int> consumed;
  std::size_t made = 0;
  OrderedJobs<TestJob> pool(
      threads, 2 * threads + 2,
      [&](unsigned worker, TestJob& job) -> Status {
        if (worker >= threads) return internal_error("worker index out of range");
        nap(job.sleep_us);
        job.result = job.index * 3 + 1;
        return {};
      },
      [&](TestJob& job) -> Status {
        consumed.push_back(job.result);
        return {};
      });
  std::mt19937 rng(seed);
  for (int i = 0; i < n; ++i) {
    auto job = pool.acquire();
    REQUIRE(job.ok());
    if ((*job)->uses++ == 0) ++made;
    (*job)->index = i;
    (*job)->sleep_us = static_cast<unsigned>(rng() % 2000);
    REQUIRE(pool.in_flight() <= 2 * std::size_t{threads} + 2);
    REQUIRE(pool.submit(std::move(*job)).ok());
  }
  REQUIRE(pool.drain().ok());
  CHECK(pool.in_flight() == 0);
  if (peak_jobs) *peak_jobs = made;
  return consumed;
}

}  // namespace

TEST_CASE("ordered jobs: submission order for 1 to 8 threads, random durations", "[pipeline]") {
  std::vector<int> expected;
  for (int i = 0; i < 60; ++i) expected.push_back(i * 3 + 1);
  for (unsigned t = 1; t <= 8; ++t) {
    INFO("threads " << t);
    std::size_t made = 0;
    CHECK(run_pool(t, 60, 1000 + t, &made) == expected);
    // Memory: never more jobs than may be in flight (the caller holds one at a time).
    CHECK(made <= 2 * std::size_t{t} + 2);
  }
}

TEST_CASE("ordered jobs: jobs submitted without work are consumed in their turn", "[pipeline]") {
  std::vector<int> consumed;
  OrderedJobs<TestJob> pool(
      3, 4,
      [](unsigned, TestJob& job) -> Status {
        nap(job.sleep_us);
        job.result = job.index;
        return {};
      },
      [&](TestJob& job) -> Status {
        consumed.push_back(job.result);
        return {};
      });
  for (int i = 0; i < 20; ++i) {
    auto job = pool.acquire();
    REQUIRE(job.ok());
    (*job)->index = i;
    (*job)->sleep_us = i % 3 == 0 ? 3000 : 0;
    const bool work = i % 4 != 1;
    if (!work) (*job)->result = i;  // done by the caller
    REQUIRE(pool.submit(std::move(*job), work).ok());
  }
  REQUIRE(pool.drain().ok());
  std::vector<int> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(i);
  CHECK(consumed == expected);
}

TEST_CASE("ordered jobs: a released job is reused and never consumed", "[pipeline]") {
  int consumed = 0;
  OrderedJobs<TestJob> pool(
      2, 2, [](unsigned, TestJob&) -> Status { return {}; },
      [&](TestJob&) -> Status {
        ++consumed;
        return {};
      });
  auto a = pool.acquire();
  REQUIRE(a.ok());
  TestJob* raw = a->get();
  pool.release(std::move(*a));
  auto b = pool.acquire();
  REQUIRE(b.ok());
  CHECK(b->get() == raw);
  REQUIRE(pool.submit(std::move(*b)).ok());
  REQUIRE(pool.drain().ok());
  CHECK(consumed == 1);
}

TEST_CASE("ordered jobs: a worker's error stops the pool and is reported", "[pipeline]") {
  for (unsigned t = 1; t <= 8; t += 3) {
    INFO("threads " << t);
    std::atomic<int> worked{0};
    std::vector<int> consumed;
    OrderedJobs<TestJob> pool(
        t, 2 * t + 2,
        [&](unsigned, TestJob& job) -> Status {
          ++worked;
          nap(job.sleep_us);
          if (job.index == 7) return corrupt("job 7 failed");
          return {};
        },
        [&](TestJob& job) -> Status {
          consumed.push_back(job.index);
          return {};
        });
    Status first;
    int submitted = 0;
    for (int i = 0; i < 1000 && first.ok(); ++i) {
      auto job = pool.acquire();
      if (!job.ok()) {
        first = job.status();
        break;
      }
      (*job)->index = i;
      (*job)->sleep_us = 200;
      first = pool.submit(std::move(*job));
      ++submitted;
    }
    if (first.ok()) first = pool.drain();
    REQUIRE_FALSE(first.ok());
    CHECK(first.to_string().find("job 7 failed") != std::string::npos);
    CHECK(pool.status().to_string() == first.to_string());
    CHECK(pool.drain().to_string() == first.to_string());  // every later call says it again
    CHECK(submitted < 1000);                               // it stopped the caller early
    for (std::size_t i = 0; i < consumed.size(); ++i) CHECK(consumed[i] == static_cast<int>(i));
    CHECK(std::find(consumed.begin(), consumed.end(), 7) == consumed.end());
    // Jobs are not started once the pool has failed: at most those already taken go on.
    CHECK(worked.load() <= 8 + static_cast<int>(2 * t + 2));
  }
}

TEST_CASE("ordered jobs: the first error wins over later ones", "[pipeline]") {
  OrderedJobs<TestJob>* self = nullptr;
  OrderedJobs<TestJob> pool(
      4, 8,
      [&](unsigned, TestJob& job) -> Status {
        if (job.index == 0) {
          // Fails after job 1 has (job 0 comes first in order, job 1's error first in time).
          for (int i = 0; i < 10000 && self->status().ok(); ++i) nap(1000);
          return corrupt("slow failure");
        }
        if (job.index == 1) return corrupt("fast failure");
        return {};
      },
      [](TestJob&) -> Status { return {}; });
  self = &pool;
  for (int i = 0; i < 2; ++i) {
    auto job = pool.acquire();
    REQUIRE(job.ok());
    (*job)->index = i;
    REQUIRE(pool.submit(std::move(*job)).ok());
  }
  const Status s = pool.drain();
  CHECK(s.to_string().find("fast failure") != std::string::npos);
  auto again = pool.acquire();
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().to_string() == s.to_string());
}

TEST_CASE("ordered jobs: a consumer's error stops the workers and is returned", "[pipeline]") {
  std::atomic<int> worked{0};
  OrderedJobs<TestJob> pool(
      2, 4,
      [&](unsigned, TestJob&) -> Status {
        ++worked;
        return {};
      },
      [](TestJob& job) -> Status {
        if (job.index == 3) return io_error("disk full");
        return {};
      });
  Status s;
  for (int i = 0; i < 100 && s.ok(); ++i) {
    auto job = pool.acquire();
    if (!job.ok()) {
      s = job.status();
      break;
    }
    (*job)->index = i;
    s = pool.submit(std::move(*job));
  }
  if (s.ok()) s = pool.drain();
  CHECK(s.to_string().find("disk full") != std::string::npos);
  CHECK(worked.load() < 100);
  pool.fail(internal_error("later"));  // a later error does not replace the first
  CHECK(pool.status().to_string() == s.to_string());
}

TEST_CASE("ordered jobs: stopping early does not deadlock", "[pipeline]") {
  for (unsigned t = 1; t <= 8; ++t) {
    INFO("threads " << t);
    std::atomic<int> worked{0};
    const auto start = std::chrono::steady_clock::now();
    {
      OrderedJobs<TestJob> pool(
          t, 2 * t + 2,
          [&](unsigned, TestJob& job) -> Status {
            nap(job.sleep_us);
            ++worked;
            return {};
          },
          [](TestJob&) -> Status { return {}; });
      for (int i = 0; i < static_cast<int>(2 * t + 2); ++i) {
        auto job = pool.acquire();
        REQUIRE(job.ok());
        (*job)->index = i;
        (*job)->sleep_us = 5000;
        REQUIRE(pool.submit(std::move(*job)).ok());
      }
      // The pool goes with jobs queued, running and done but not consumed.
    }
    // Only the jobs already running were finished: the queued ones were dropped.
    CHECK(worked.load() <= static_cast<int>(2 * t + 2));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  }
  // And with a failure recorded by the caller while workers are busy.
  OrderedJobs<TestJob> pool(
      2, 6,
      [](unsigned, TestJob&) -> Status {
        nap(2000);
        return {};
      },
      [](TestJob&) -> Status { return {}; });
  for (int i = 0; i < 6; ++i) {
    auto job = pool.acquire();
    REQUIRE(job.ok());
    REQUIRE(pool.submit(std::move(*job)).ok());
  }
  pool.fail(cancelled("stopped by the caller"));
  CHECK(pool.drain().code() == Errc::cancelled);
}
