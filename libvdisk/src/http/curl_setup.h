// What the libcurl users of http/ share: client.cpp's Connection and body_stream.cpp's
// streaming GET set a handle up the same way (internal to http/).
//
// Guarantees: set_transport() gives a handle the library's transport rules: http and https
// only, no redirect followed, options.proxy or none (no environment is read), certificates and
// host names always verified (against options.ca_file when given), the connect timeout, TCP
// keep-alive, no signals.
#ifndef VDISK_HTTP_CURL_SETUP_H_
#define VDISK_HTTP_CURL_SETUP_H_

#include <curl/curl.h>

#include <cstddef>

#include "vdisk/cloud.h"
#include "vdisk/status.h"

namespace vdisk::http::detail {

// curl_global_init, once per process.
Status init_curl();
void set_transport(CURL* handle, const HttpOptions& options);
// A CURLOPT_HEADERFUNCTION whose user data is a Response: its headers (names lowercase),
// cleared at each status line (100 Continue, a redirect).
std::size_t write_header(char* src, std::size_t size, std::size_t n, void* response);
// Transport failures worth another attempt (connect, reset, partial body, TLS handshake).
bool retryable_curl(CURLcode code);

}  // namespace vdisk::http::detail

#endif  // VDISK_HTTP_CURL_SETUP_H_
