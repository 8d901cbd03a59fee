// The setup every cloud client shares (see service_client.h).
#include "http/service_client.h"

#include <fmt/format.h>

namespace vdisk::http {

Result<ServiceClient> ServiceClient::open(HttpOptions options, std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connection::create(options));
  return ServiceClient(std::move(options), std::move(c), stop);
}

Result<Response> ServiceClient::send(const Request& request, const ResponseCheck& check) {
  return send_with_retry(*connection_, request, options_, stop_, check);
}

Result<Url> parse_service_url(std::string_view text) {
  VDISK_ASSIGN_OR_RETURN(Url u, parse_url(text));
  VDISK_RETURN_IF_ERROR(require_secure_transport(u));
  return u;
}

std::string trim_endpoint(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

Status check_connections(std::string_view service, unsigned connections) {
  if (connections == 0 || connections > 64)
    return invalid_argument(
        fmt::format("{}: {} connections: expected 1..64", service, connections));
  return {};
}

}  // namespace vdisk::http
