// Driver option tables: checking and reading key=value settings (vdisk/options.h).
#include "vdisk/options.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace vdisk {
namespace {

constexpr std::size_t kMaxTextBytes = 4096;

std::optional<bool> parse_flag(std::string_view v) {
  if (v.empty() || v == "on" || v == "yes" || v == "true" || v == "1") return true;
  if (v == "off" || v == "no" || v == "false" || v == "0") return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_number(std::string_view v) {
  std::int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  return n;
}

std::string known_keys(std::span<const OptionSpec> table) {
  std::vector<std::string_view> keys;
  for (const auto& row : table) keys.push_back(row.key);
  return keys.empty() ? std::string("none") : fmt::format("{}", fmt::join(keys, ", "));
}

// The text a row stands for: the value given, else the fallback.
Result<std::string_view> value_of(std::span<const OptionSpec> table, const OptionValues& values,
                                  std::string_view key, OptionKind kind) {
  const OptionSpec* row = find_option(table, key);
  if (!row || row->kind != kind)
    return internal_error(fmt::format("option '{}' is not a table row of that kind", key));
  if (auto v = values.given(key)) return *v;
  return row->fallback;
}

}  // namespace

void OptionValues::set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : items_)
    if (k == key) {
      v = std::string(value);
      return;
    }
  items_.emplace_back(std::string(key), std::string(value));
}

std::optional<std::string_view> OptionValues::given(std::string_view key) const {
  for (const auto& [k, v] : items_)
    if (k == key) return std::string_view(v);
  return std::nullopt;
}

const OptionSpec* find_option(std::span<const OptionSpec> table, std::string_view key) {
  for (const auto& row : table)
    if (row.key == key) return &row;
  return nullptr;
}

Status check_option_value(const OptionSpec& row, std::string_view owner, std::string_view value) {
  switch (row.kind) {
    case OptionKind::flag:
      if (!parse_flag(value))
        return invalid_argument(
            fmt::format("{}: option '{}' is a flag: '{}' is not on or off", owner, row.key, value));
      return {};
    case OptionKind::number: {
      const auto n = parse_number(value);
      if (!n || *n < row.min || *n > row.max)
        return invalid_argument(fmt::format("{}: option '{}': '{}' is not a whole number {}..{}",
                                            owner, row.key, value, row.min, row.max));
      return {};
    }
    case OptionKind::choice:
      if (std::find(row.choices.begin(), row.choices.end(), value) == row.choices.end())
        return invalid_argument(fmt::format("{}: option '{}': unknown value '{}' (known: {})",
                                            owner, row.key, value, fmt::join(row.choices, ", ")));
      return {};
    case OptionKind::text:
      if (value.size() > kMaxTextBytes)
        return invalid_argument(
            fmt::format("{}: option '{}': a value of {} bytes is longer than {}", owner, row.key,
                        value.size(), kMaxTextBytes));
      return {};
  }
  return internal_error("unknown option kind");
}

Status set_option(std::span<const OptionSpec> table, std::string_view owner, OptionValues& values,
                  std::string_view key, std::string_view value) {
  const OptionSpec* row = find_option(table, key);
  if (!row)
    return invalid_argument(
        fmt::format("{}: unknown option '{}' (known: {})", owner, key, known_keys(table)));
  VDISK_RETURN_IF_ERROR(check_option_value(*row, owner, value));
  values.set(key, value);
  return {};
}

Status parse_options(std::span<const OptionSpec> table, std::string_view owner,
                     OptionValues& values, std::string_view text) {
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t j = text.find(',', i);
    if (j == std::string_view::npos) j = text.size();
    const std::string_view item = text.substr(i, j - i);
    if (item.empty())
      return invalid_argument(
          fmt::format("{}: empty option in '{}' (want key=value,...)", owner, text));
    const std::size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (eq == std::string_view::npos) {
      const OptionSpec* row = find_option(table, key);
      if (row && row->kind != OptionKind::flag)
        return invalid_argument(
            fmt::format("{}: option '{}' needs a value ({}={})", owner, key, key, row->metavar));
    }
    VDISK_RETURN_IF_ERROR(set_option(table, owner, values, key, value));
    i = j + 1;
  }
  return {};
}

Status check_options(std::span<const OptionSpec> table, std::string_view owner,
                     const OptionValues& values) {
  OptionValues scratch;
  for (const auto& [key, value] : values.items())
    VDISK_RETURN_IF_ERROR(set_option(table, owner, scratch, key, value));
  return {};
}

Result<std::int64_t> option_number(std::span<const OptionSpec> table, const OptionValues& values,
                                   std::string_view key) {
  VDISK_ASSIGN_OR_RETURN(const std::string_view v,
                         value_of(table, values, key, OptionKind::number));
  const auto n = parse_number(v);
  if (!n) return invalid_argument(fmt::format("option '{}': '{}' is not a number", key, v));
  return *n;
}

Result<bool> option_flag(std::span<const OptionSpec> table, const OptionValues& values,
                         std::string_view key) {
  VDISK_ASSIGN_OR_RETURN(const std::string_view v, value_of(table, values, key, OptionKind::flag));
  if (!values.given(key)) return false;
  const auto b = parse_flag(v);
  if (!b) return invalid_argument(fmt::format("option '{}': '{}' is not on or off", key, v));
  return *b;
}

Result<std::string> option_text(std::span<const OptionSpec> table, const OptionValues& values,
                                std::string_view key) {
  const OptionSpec* row = find_option(table, key);
  if (!row || (row->kind != OptionKind::choice && row->kind != OptionKind::text))
    return internal_error(fmt::format("option '{}' is not a text or choice row", key));
  if (auto v = values.given(key)) return std::string(*v);
  return std::string(row->fallback);
}

}  // namespace vdisk
