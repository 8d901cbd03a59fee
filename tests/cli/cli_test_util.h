// Shared helpers of the vdconvert parser tests: parse against the real command table, and
// require a one-line usage error.
#ifndef VDCONVERT_TESTS_CLI_TEST_UTIL_H_
#define VDCONVERT_TESTS_CLI_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "command_args.h"
#include "commands.h"

namespace vdconvert::test {

inline vdisk::Result<Command> parse(std::initializer_list<std::string_view> args) {
  const std::vector<std::string_view> v(args);
  return parse_args(v, command_table());
}

// The parsed command's arguments struct, which must be an Args.
template <class Args>
const Args& args_of(const vdisk::Result<Command>& r) {
  INFO("parse error: " << r.status().message());
  REQUIRE(r.ok());
  const Args* a = r->get<Args>();
  REQUIRE(a != nullptr);
  return *a;
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
