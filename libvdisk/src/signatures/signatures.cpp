// The table of recognisers and the one-line refusal.
#include "signatures/signatures.h"

#include <fmt/format.h>

namespace vdisk::signatures {

Status Recognition::refusal() const {
  if (!damage.ok()) return damage;
  std::string what = description;
  std::string facts_text;
  if (!version.empty()) facts_text += fmt::format("version {}", version);
  if (virtual_size)
    facts_text +=
        fmt::format("{}virtual size {} bytes", facts_text.empty() ? "" : ", ", *virtual_size);
  if (!facts_text.empty()) what += fmt::format(" ({})", facts_text);
  return unsupported(
      fmt::format("{}: {}: libvdisk does not read this format; {}", format, what, advice));
}

std::optional<Recognition> recognise(const detail::ProbeData& data) {
  using Fn = std::optional<Recognition> (*)(const detail::ProbeData&);
  // Signatures at fixed offsets do not overlap, so the first match is the only one; tar comes
  // last because its test (a header checksum) is the weakest.
  static constexpr Fn kRecognisers[] = {
      &recognise_qcow,      &recognise_qed,  &recognise_vhdx,       &recognise_vdi,
      &recognise_parallels, &recognise_dmg,  &recognise_bochs,      &recognise_cloop,
      &recognise_luks,      &recognise_gzip, &recognise_compressed, &recognise_tar,
  };
  for (Fn fn : kRecognisers)
    if (auto r = fn(data)) return r;
  return std::nullopt;
}

}  // namespace vdisk::signatures
