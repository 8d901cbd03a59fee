// What every cloud client (S3, EBS, Azure Blob) sets up the same way: one upload thread's
// kept-alive connection with the HTTP options and the stop token its requests honour, the URL
// rules of a service endpoint, and the set of clients an upload's threads use.
//
//   S3Client / EbsClient (remote/aws/aws_client.h: + endpoint, SigV4) / BlobClient (+ x-ms-version)
//     --> ServiceClient::send --> send_with_retry (client.h) --> Connection (libcurl)
//
// Guarantees:
// - Setup: ServiceClient::open() makes the one Connection of its thread from HttpOptions: TLS
//   checked against the system's CA store or options.ca_file, options.proxy (no environment is
//   read), the connect timeout and stall limit; its errors are Connection::create()'s.
// - Every send() is send_with_retry() with the same options (attempts, backoff with jitter,
//   max_retry_seconds, on_retry) and the stop token given at open(), so a triggered token
//   cancels any request of any client.
// - One ServiceClient per thread (its Connection is not shared); the object is movable.
#ifndef VDISK_HTTP_SERVICE_CLIENT_H_
#define VDISK_HTTP_SERVICE_CLIENT_H_

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "http/client.h"
#include "http/url.h"
#include "vdisk/cloud.h"
#include "vdisk/status.h"

namespace vdisk::http {

class ServiceClient {
 public:
  static Result<ServiceClient> open(HttpOptions options, std::stop_token stop);
  // Over a connection the caller made (a test's scripted one).
  ServiceClient(HttpOptions options, std::unique_ptr<Connection> connection, std::stop_token stop)
      : options_(std::move(options)), connection_(std::move(connection)), stop_(stop) {}

  // Sends `request` with the retries of options() until a response whose status is not
  // retryable, a transport failure past the retries, or cancelled (send_with_retry); with
  // `check`, one that passes it.
  Result<Response> send(const Request& request, const ResponseCheck& check = {});
  const HttpOptions& options() const { return options_; }

 private:
  HttpOptions options_;
  std::unique_ptr<Connection> connection_;
  std::stop_token stop_;
};

// Parses a service URL and refuses a transport the library does not accept (parse_url, then
// require_secure_transport: https, or plain http only to a loopback emulator).
Result<Url> parse_service_url(std::string_view text);

// `base` without its trailing '/'s (an endpoint given as "http://127.0.0.1:5000/").
std::string trim_endpoint(std::string base);

// The number of connections an upload may open: 1..64, else invalid_argument
// "<service>: N connections: expected 1..64".
Status check_connections(std::string_view service, unsigned connections);

// One client per upload thread: `count` clients from make(), a callable returning
// Result<std::unique_ptr<Client>>; the first error stops and is returned.
template <class Client, class Make>
Result<std::vector<std::unique_ptr<Client>>> open_clients(unsigned count, Make&& make) {
  std::vector<std::unique_ptr<Client>> clients;
  clients.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    VDISK_ASSIGN_OR_RETURN(std::unique_ptr<Client> c, make());
    clients.push_back(std::move(c));
  }
  return clients;
}

}  // namespace vdisk::http

#endif  // VDISK_HTTP_SERVICE_CLIENT_H_
