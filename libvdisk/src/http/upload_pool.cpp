// See upload_pool.h.
#include "http/upload_pool.h"

namespace vdisk::http {

UploadPool::UploadPool(std::size_t threads, std::size_t buffers, std::size_t buffer_bytes,
                       Send send)
    : send_(std::move(send)), buffer_bytes_(buffer_bytes) {
  free_.resize(std::max<std::size_t>(buffers, 1));  // allocated on first use
  for (std::size_t t = 0; t < std::max<std::size_t>(threads, 1); ++t)
    threads_.emplace_back([this, t] { run(t); });
}

UploadPool::~UploadPool() {
  fail(cancelled("upload abandoned"));
  stop_threads();
}

Result<std::vector<std::byte>> UploadPool::take_free() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty() || !error_.ok(); });
  if (!error_.ok()) return error_;
  std::vector<std::byte> b = std::move(free_.back());
  free_.pop_back();
  return b;
}

Result<std::vector<std::byte>> UploadPool::acquire(std::size_t bytes) {
  VDISK_ASSIGN_OR_RETURN(std::vector<std::byte> b, take_free());
  b.resize(bytes ? bytes : buffer_bytes_);
  return b;
}

Result<std::vector<std::byte>> UploadPool::acquire_slot() { return take_free(); }

Status UploadPool::submit(UploadJob job) {
  std::lock_guard lock(mu_);
  if (!error_.ok()) return error_;
  if (closing_) return internal_error("upload pool: submit after drain");
  queue_.push_back(std::move(job));
  cv_.notify_all();
  return {};
}

Status UploadPool::drain() {
  stop_threads();
  std::lock_guard lock(mu_);
  return error_;
}

void UploadPool::fail(Status error) {
  std::lock_guard lock(mu_);
  if (error_.ok()) error_ = std::move(error);
  cv_.notify_all();
}

Status UploadPool::error() {
  std::lock_guard lock(mu_);
  return error_;
}

void UploadPool::run(std::size_t thread) {
  for (;;) {
    UploadJob job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Status s = error().ok() ? send_(thread, job) : Status();
    std::lock_guard lock(mu_);
    if (!s.ok() && error_.ok()) error_ = std::move(s);
    free_.push_back(std::move(job.data));
    cv_.notify_all();
  }
}

void UploadPool::stop_threads() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    cv_.notify_all();
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace vdisk::http
