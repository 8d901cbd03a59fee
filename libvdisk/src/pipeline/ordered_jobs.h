// An ordered job pool: jobs submitted in order by one thread, worked on by N threads in any order,
// consumed by the submitting thread in submission order, with a bounded number in flight.
//
//   caller (acquire, fill, submit) --> workers (N threads: work) --> caller (consume, in order)
//
// The caller takes a job (acquire: a consumed one for reuse, or a new one), fills it and submits
// it; a worker runs work(worker, job) on it; the caller's consume(job) sees every submitted job
// exactly once, in submission order, from inside acquire(), submit() or drain(), and the job then
// goes back to the spares. `worker` is the index (0 .. threads - 1) of the thread running work(),
// so per-worker state (a compressor each) needs no lock. A job submitted with work = false (one
// the caller finished itself) is consumed in its turn without a worker.
//
// Guarantees:
// - Order: consume() is called on the caller's thread, in submission order. What it writes depends
//   only on the jobs and on what work() makes of each, never on `threads` or on timing.
// - Memory: at most `max_in_flight` jobs are submitted and not yet consumed (submit() consumes the
//   oldest first when the pool is full), and acquire() makes a new job only when no spare is left
//   and fewer than `max_in_flight` are in flight, so a caller that holds one job at a time (from
//   acquire() to submit() or release()) makes at most `max_in_flight` jobs in all.
// - Errors: the first error wins. An error from work() or consume(), or one given to fail(),
//   stops the workers (a job being worked on is finished, none other is started) and every later
//   acquire(), submit() and drain() returns it; the jobs not consumed then never are.
// - No deadlock: the caller never waits for a job that no worker will finish (after a failure it
//   returns the error at once), and the destructor stops the workers, joins them and destroys
//   every job still held, so a caller may stop early (after an error or without one) at any point.
// The pool's methods are for the one caller thread; work() runs on the workers with no lock held.
#ifndef VDISK_PIPELINE_ORDERED_JOBS_H_
#define VDISK_PIPELINE_ORDERED_JOBS_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::detail {

// The base of a pool's jobs: what the pool keeps about each (whether it is done).
class OrderedJob {
 public:
  OrderedJob() = default;
  OrderedJob(const OrderedJob&) = delete;
  OrderedJob& operator=(const OrderedJob&) = delete;
  virtual ~OrderedJob() = default;

 private:
  friend class OrderedJobPool;
  bool done_ = false;  // worked on (or submitted with work = false); under the pool's lock
};

// The pool over OrderedJob (OrderedJobs<Job> below is the typed face). `threads` >= 1 and
// `max_in_flight` >= 1 (smaller values count as 1); the workers start at construction.
class OrderedJobPool {
 public:
  using Work = std::function<Status(unsigned worker, OrderedJob& job)>;
  using Consume = std::function<Status(OrderedJob& job)>;

  OrderedJobPool(unsigned threads, std::size_t max_in_flight, Work work, Consume consume);
  ~OrderedJobPool();
  OrderedJobPool(const OrderedJobPool&) = delete;
  OrderedJobPool& operator=(const OrderedJobPool&) = delete;

  // A spare job (a consumed one, holding what its last use left in it); when there is none,
  // consumes the oldest jobs while the pool is full and returns a spare if that made one, else
  // nullptr (the caller makes a new job). The pool's error once it has failed.
  Result<std::unique_ptr<OrderedJob>> acquire();
  // Queues `job` (a worker runs work() on it when `work`, else it is done as it is), consuming
  // the oldest jobs first while max_in_flight are in flight. After a failure the job is
  // destroyed and the error returned.
  Status submit(std::unique_ptr<OrderedJob> job, bool work = true);
  // Gives an acquired job back unsubmitted (it becomes a spare; never consumed).
  void release(std::unique_ptr<OrderedJob> job);
  // Consumes every job in flight, in order.
  Status drain();
  // Records `error` as the pool's error unless it already has one, and stops the workers.
  void fail(Status error);

  std::size_t in_flight() const { return pending_.size(); }
  // The pool's first error (ok while it has none).
  Status status() const;

 private:
  Status consume_front();
  void worker_loop(unsigned index);

  Work work_;
  Consume consume_;
  std::size_t max_in_flight_;
  std::deque<std::unique_ptr<OrderedJob>> pending_;  // submitted, in order (caller's thread)
  std::vector<std::unique_ptr<OrderedJob>> spare_;   // consumed, for reuse (caller's thread)

  mutable std::mutex m_;
  std::condition_variable work_cv_;  // a job queued, or stopping
  std::condition_variable done_cv_;  // a job done, or failed
  std::deque<OrderedJob*> queue_;    // waiting for a worker
  Status failed_;                    // the first error
  bool stopping_ = false;
  std::vector<std::jthread> workers_;  // last: joined (by ~OrderedJobPool) before the rest goes
};

// The pool for jobs of type Job (derived from OrderedJob, default-constructible).
template <class Job>
class OrderedJobs {
  static_assert(std::is_base_of_v<OrderedJob, Job>, "a pool's jobs derive from OrderedJob");

 public:
  using Work = std::function<Status(unsigned worker, Job& job)>;
  using Consume = std::function<Status(Job& job)>;

  OrderedJobs(unsigned threads, std::size_t max_in_flight, Work work, Consume consume)
      : pool_(
            threads, max_in_flight,
            [w = std::move(work)](unsigned worker, OrderedJob& job) {
              return w(worker, static_cast<Job&>(job));
            },
            [c = std::move(consume)](OrderedJob& job) { return c(static_cast<Job&>(job)); }) {}

  // A spare job or a new one (OrderedJobPool::acquire).
  Result<std::unique_ptr<Job>> acquire() {
    VDISK_ASSIGN_OR_RETURN(auto job, pool_.acquire());
    if (!job) return std::make_unique<Job>();
    return std::unique_ptr<Job>(static_cast<Job*>(job.release()));
  }
  Status submit(std::unique_ptr<Job> job, bool work = true) {
    return pool_.submit(std::move(job), work);
  }
  void release(std::unique_ptr<Job> job) { pool_.release(std::move(job)); }
  Status drain() { return pool_.drain(); }
  void fail(Status error) { pool_.fail(std::move(error)); }
  std::size_t in_flight() const { return pool_.in_flight(); }
  Status status() const { return pool_.status(); }

 private:
  OrderedJobPool pool_;
};

}  // namespace vdisk::detail

#endif  // VDISK_PIPELINE_ORDERED_JOBS_H_
