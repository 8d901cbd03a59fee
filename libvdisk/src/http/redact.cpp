// The public helpers of cloud.h that are about URLs in general.
#include <string>

#include "http/url.h"
#include "vdisk/cloud.h"

namespace vdisk {

bool is_remote_url(std::string_view text) {
  const auto starts = [&](std::string_view p) {
    if (text.size() < p.size()) return false;
    for (std::size_t i = 0; i < p.size(); ++i)
      if (static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))) != p[i])
        return false;
    return true;
  };
  return starts("http://") || starts("https://");
}

std::string redact_secrets(std::string_view text) {
  // Every whitespace-separated word that holds a query string is redacted as a URL.
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    const std::string_view word = text.substr(i, j - i);
    out += word.find('?') != std::string_view::npos || word.find('@') != std::string_view::npos
               ? http::redact_url(word)
               : std::string(word);
    while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) out += text[j++];
    i = j;
  }
  return out;
}

}  // namespace vdisk
