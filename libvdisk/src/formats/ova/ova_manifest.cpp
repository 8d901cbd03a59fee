// OVF manifest lines and digests (see ova_manifest.h; DSP0243 section 5.1).
#include "formats/ova/ova_manifest.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace vdisk::ova {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::size_t digest_chars(std::string_view algorithm) {
  if (algorithm == "SHA1") return 40;
  if (algorithm == "SHA256") return 64;
  if (algorithm == "SHA512") return 128;
  return 0;
}

Status bad_line(std::string_view what, std::size_t number, std::string_view message) {
  return corrupt(fmt::format("ova: manifest {} line {}: {}", what, number, message));
}

Result<ManifestEntry> parse_line(std::string_view line, std::string_view what, std::size_t n) {
  const std::size_t open = line.find('(');
  const std::size_t eq = line.rfind('=');
  const std::size_t close = eq == std::string_view::npos ? eq : line.rfind(')', eq);
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return bad_line(what, n, "expected 'ALG(name)= digest'");
  ManifestEntry e;
  for (char c : trim(line.substr(0, open)))
    e.algorithm += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  e.name = std::string(line.substr(open + 1, close - open - 1));
  if (!trim(line.substr(close + 1, eq - close - 1)).empty())
    return bad_line(what, n, "expected '=' right after ')'");
  const std::size_t want = digest_chars(e.algorithm);
  if (want == 0)
    return bad_line(
        what, n, fmt::format("unknown digest algorithm '{}' (SHA1, SHA256, SHA512)", e.algorithm));
  for (char c : trim(line.substr(eq + 1))) {
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return bad_line(what, n, "the digest is not hexadecimal");
    e.digest += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (e.digest.size() != want)
    return bad_line(what, n,
                    fmt::format("expected a {} digest of {} hex digits, found {}", e.algorithm,
                                want, e.digest.size()));
  if (e.name.empty()) return bad_line(what, n, "empty file name");
  return e;
}

}  // namespace

Result<std::vector<ManifestEntry>> parse_manifest(std::string_view text, std::string_view what) {
  std::vector<ManifestEntry> out;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    if (line.empty()) continue;
    VDISK_ASSIGN_OR_RETURN(ManifestEntry e, parse_line(line, what, number));
    if (find_entry(out, e.name))
      return bad_line(what, number, fmt::format("'{}' is listed twice", e.name));
    out.push_back(std::move(e));
  }
  return out;
}

const ManifestEntry* find_entry(std::span<const ManifestEntry> entries, std::string_view name) {
  for (const ManifestEntry& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<std::string> entries_not_held(std::span<const ManifestEntry> entries,
                                          const std::function<bool(std::string_view)>& holds) {
  std::vector<std::string> out;
  for (const ManifestEntry& e : entries)
    if (!holds(e.name)) out.push_back(e.name);
  return out;
}

FileDigest::FileDigest(bool sha1, bool sha256) {
  if (sha1) sha1_ = std::make_unique<checksum::Sha1>();
  if (sha256) sha256_ = std::make_unique<checksum::Sha256>();
}

void FileDigest::update(std::span<const std::byte> data) {
  if (sha1_) sha1_->update(data);
  if (sha256_) sha256_->update(data);
}

void FileDigest::finish() {
  if (sha1_ && sha1_hex_.empty()) sha1_hex_ = sha1_->hex();
  if (sha256_ && sha256_hex_.empty()) sha256_hex_ = sha256_->hex();
}

std::optional<std::string> FileDigest::hex(std::string_view algorithm) const {
  if (algorithm == "SHA1" && !sha1_hex_.empty()) return sha1_hex_;
  if (algorithm == "SHA256" && !sha256_hex_.empty()) return sha256_hex_;
  return std::nullopt;
}

Status verify_digest(const ManifestEntry& entry, const FileDigest& digest,
                     std::string_view manifest) {
  const auto found = digest.hex(entry.algorithm);
  if (!found)
    return unsupported(
        fmt::format("ova: manifest {} lists {} with a {} digest, which is not "
                    "checked (SHA1 and SHA256 are); --no-verify skips the check",
                    manifest, entry.name, entry.algorithm));
  if (*found != entry.digest)
    return corrupt(
        fmt::format("ova: {} does not match manifest {}: {} expected {}, found {} "
                    "(--no-verify skips the check)",
                    entry.name, manifest, entry.algorithm, entry.digest, *found));
  return {};
}

}  // namespace vdisk::ova
