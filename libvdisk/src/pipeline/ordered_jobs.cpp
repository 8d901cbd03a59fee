// The ordered job pool (see ordered_jobs.h).
#include "pipeline/ordered_jobs.h"

#include <algorithm>

namespace vdisk::detail {

OrderedJobPool::OrderedJobPool(unsigned threads, std::size_t max_in_flight, Work work,
                               Consume consume)
    : work_(std::move(work)),
      consume_(std::move(consume)),
      max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {
  const unsigned n = std::max(1u, threads);
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

OrderedJobPool::~OrderedJobPool() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  workers_.clear();  // joins before the jobs a worker may hold are destroyed
}

Status OrderedJobPool::status() const {
  std::lock_guard lock(m_);
  return failed_;
}

void OrderedJobPool::fail(Status error) {
  if (error.ok()) return;
  {
    std::lock_guard lock(m_);
    if (failed_.ok()) failed_ = std::move(error);
    stopping_ = true;
    queue_.clear();
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
}

Result<std::unique_ptr<OrderedJob>> OrderedJobPool::acquire() {
  VDISK_RETURN_IF_ERROR(status());
  if (spare_.empty())
    while (pending_.size() >= max_in_flight_) VDISK_RETURN_IF_ERROR(consume_front());
  if (spare_.empty()) return std::unique_ptr<OrderedJob>();
  auto job = std::move(spare_.back());
  spare_.pop_back();
  return job;
}

Status OrderedJobPool::submit(std::unique_ptr<OrderedJob> job, bool work) {
  VDISK_RETURN_IF_ERROR(status());
  while (pending_.size() >= max_in_flight_) VDISK_RETURN_IF_ERROR(consume_front());
  OrderedJob* raw = job.get();
  {
    std::lock_guard lock(m_);
    if (!failed_.ok()) return failed_;  // a worker failed meanwhile: `job` goes
    raw->done_ = !work;
    pending_.push_back(std::move(job));
    if (work) queue_.push_back(raw);
  }
  if (work) work_cv_.notify_one();
  return {};
}

void OrderedJobPool::release(std::unique_ptr<OrderedJob> job) {
  if (job) spare_.push_back(std::move(job));
}

Status OrderedJobPool::drain() {
  VDISK_RETURN_IF_ERROR(status());
  while (!pending_.empty()) VDISK_RETURN_IF_ERROR(consume_front());
  return {};
}

// Waits for the oldest job (or a failure), consumes it, and keeps it as a spare.
Status OrderedJobPool::consume_front() {
  {
    std::unique_lock lock(m_);
    done_cv_.wait(lock, [&] { return !failed_.ok() || pending_.front()->done_; });
    if (!failed_.ok()) return failed_;
  }
  std::unique_ptr<OrderedJob> job = std::move(pending_.front());
  pending_.pop_front();
  if (Status s = consume_(*job); !s.ok()) {
    fail(s);
    return status();
  }
  spare_.push_back(std::move(job));
  return {};
}

void OrderedJobPool::worker_loop(unsigned index) {
  for (;;) {
    OrderedJob* job = nullptr;
    {
      std::unique_lock lock(m_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
    }
    Status s = work_(index, *job);
    if (!s.ok()) {
      fail(std::move(s));
      return;
    }
    {
      std::lock_guard lock(m_);
      job->done_ = true;
    }
    done_cv_.notify_all();
  }
}

}  // namespace vdisk::detail
