// A GET whose body is read as it arrives, for a body too large to hold: the whole object from a
// server that answers no ranges (remote/https/ reads it as a stream), and the probe of every
// HTTP(S) source, whose body is either one block or that whole object.
//
//   open_http_source --> send_with_retry(StreamingConnection) --> status and headers
//     --> take_body(): BodyReader::read() drives the transfer
//
// Guarantees:
// - StreamingConnection::send() returns once the final status line and headers arrived (1xx
//   skipped), with an empty body, or the transport failure (retryable as Connection::send's),
//   so send_with_retry() retries opening it; the body is left to take_body().
// - Memory: the transfer delivers into a buffer of at most kBodyBufferBytes; when that is full
//   it pauses (TCP then holds the server back) until read() drains it. It runs in the reading
//   thread (libcurl's multi interface): nothing runs between reads.
// - A transfer that moves no byte for HttpOptions::stall_seconds while the reader waits fails
//   (a paused one is not stalled); a triggered stop token ends it with cancelled.
// - read() returns the body's bytes in order and 0 at its end; a transfer that ends early (a
//   reset, a body shorter than its Content-Length, a stall) is io_error naming the request's
//   `what` and the offset in the body where it broke, after the bytes received before it.
#ifndef VDISK_HTTP_BODY_STREAM_H_
#define VDISK_HTTP_BODY_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "http/client.h"
#include "vdisk/cloud.h"
#include "vdisk/status.h"

namespace vdisk::http {

inline constexpr std::size_t kBodyBufferBytes = 1u << 20;

class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual Result<std::size_t> read(std::span<std::byte> dst) = 0;
  // Body bytes returned so far.
  virtual std::uint64_t position() const = 0;
  // What the body is, for the messages of read() from now on (default: the request's `what`).
  virtual void set_what(std::string /*what*/) {}
};

class StreamingConnection : public Connection {
 public:
  static Result<std::unique_ptr<StreamingConnection>> create(const HttpOptions& options);
  // The body of the last response send() returned (GET only), once; null otherwise.
  virtual std::unique_ptr<BodyReader> take_body() = 0;
};

}  // namespace vdisk::http

#endif  // VDISK_HTTP_BODY_STREAM_H_
