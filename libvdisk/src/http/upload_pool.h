// The upload threads of a cloud sink: a fixed pool of buffers, a queue of filled ones, and N
// threads that each send one at a time (each thread owns its connection, so requests run in
// parallel over kept-alive connections). Memory is bounded by the buffers; the first error
// stops the rest.
#ifndef VDISK_HTTP_UPLOAD_POOL_H_
#define VDISK_HTTP_UPLOAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::http {

struct UploadJob {
  std::uint64_t tag = 0;        // what the job is (an offset, a part number)
  std::vector<std::byte> data;  // a pool buffer, `size` bytes of it used
  std::size_t size = 0;
  // `size` bytes of zeros that `data` does not hold: the buffer is only the job's place in the
  // pool (which bounds the queue), and the sender supplies the zeros (AlignedStager's exact
  // mode).
  bool zeros = false;
};

class UploadPool {
 public:
  // Sends `job` from thread `thread` (0..threads-1); may modify job.data.
  using Send = std::function<Status(std::size_t thread, UploadJob& job)>;

  UploadPool(std::size_t threads, std::size_t buffers, std::size_t buffer_bytes, Send send);
  // Abandons what is queued and joins the threads.
  ~UploadPool();
  UploadPool(const UploadPool&) = delete;
  UploadPool& operator=(const UploadPool&) = delete;

  // A free buffer of `bytes` (default: buffer_bytes; waits for one); the first error instead,
  // once there is one.
  Result<std::vector<std::byte>> acquire(std::size_t bytes = 0);
  // A free buffer as it is (its size and bytes unspecified; never allocated here), for a job
  // that needs only its place in the pool (UploadJob::zeros); waits as acquire() does.
  Result<std::vector<std::byte>> acquire_slot();
  // Queues a filled buffer for sending.
  Status submit(UploadJob job);
  // Waits until every queued job is sent and stops the threads; the first error, if any.
  // Nothing may be submitted afterwards.
  Status drain();
  // Records an error from outside (cancellation): queued jobs are dropped.
  void fail(Status error);
  Status error();

 private:
  Result<std::vector<std::byte>> take_free();
  void run(std::size_t thread);
  void stop_threads();

  Send send_;
  std::size_t buffer_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<UploadJob> queue_;
  std::vector<std::vector<std::byte>> free_;
  Status error_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vdisk::http

#endif  // VDISK_HTTP_UPLOAD_POOL_H_
