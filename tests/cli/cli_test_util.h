// Shared helpers of the vdconvert parser tests: parse against the real command table, and
// require a one-line usage error.
#ifndef VDCONVERT_TESTS_CLI_TEST_UTIL_H_
#define VDCONVERT_TESTS_CLI_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "commands.h"

namespace vdconvert::test {

inline vdisk::Result<Command> parse(std::initializer_list<std::string_view> args) {
  const std::vector<std::string_view> v(args);
  return parse_args(v, command_table());
}

// True when an option's apply() stored `flag` in cmd.flags.
inline bool has_flag(const Command& c, std::string_view flag) {
  return std::find(c.flags.begin(), c.flags.end(), flag) != c.flags.end();
}

// The parse fails with invalid_argument and a one-line message containing `needle`.
inline void require_error(std::initializer_list<std::string_view> args, std::string_view needle) {
  auto r = parse(args);
  std::string shown;
  for (auto a : args) shown.append(a).append(" ");
  INFO("args: " << shown);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == vdisk::Errc::invalid_argument);
  INFO("message: " << r.status().message());
  CHECK(r.status().message().find(needle) != std::string::npos);
  CHECK(r.status().message().find('\n') == std::string::npos);
}

}  // namespace vdconvert::test

#endif  // VDCONVERT_TESTS_CLI_TEST_UTIL_H_
