// See aws_config.h.
#include "aws_config.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vdconvert {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// The file's text, or "" when it does not exist.
std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) return {};
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string home_file(const char* variable, const char* relative) {
  std::string p = env(variable);
  if (!p.empty()) return p;
  const std::string home = env("HOME");
  return home.empty() ? std::string() : home + "/" + relative;
}

}  // namespace

std::string ini_value(const std::string& text, const std::string& section, const std::string& key) {
  std::istringstream in(text);
  std::string line, current;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      current = trim(line.substr(1, line.size() - 2));
      continue;
    }
    if (current != section) continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    if (trim(line.substr(0, eq)) == key) return trim(line.substr(eq + 1));
  }
  return {};
}

vdisk::Status load_aws_config(vdisk::AwsOptions& aws, const std::string& profile_flag,
                              const std::string& region_flag) {
  std::string profile = profile_flag.empty() ? env("AWS_PROFILE") : profile_flag;
  const bool asked = !profile.empty();
  if (profile.empty()) profile = "default";
  aws.access_key_id = env("AWS_ACCESS_KEY_ID");
  aws.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
  aws.session_token = env("AWS_SESSION_TOKEN");
  if (aws.access_key_id.empty() || asked) {
    const std::string path = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    const std::string text = path.empty() ? std::string() : read_text(path);
    const std::string id = ini_value(text, profile, "aws_access_key_id");
    if (asked && id.empty())
      return vdisk::invalid_argument(
          fmt::format("aws: profile '{}' has no aws_access_key_id in {}", profile, path));
    if (!id.empty()) {
      aws.access_key_id = id;
      aws.secret_access_key = ini_value(text, profile, "aws_secret_access_key");
      aws.session_token = ini_value(text, profile, "aws_session_token");
    }
  }
  aws.region = region_flag;
  if (aws.region.empty()) aws.region = env("AWS_REGION");
  if (aws.region.empty()) aws.region = env("AWS_DEFAULT_REGION");
  if (aws.region.empty()) {
    const std::string path = home_file("AWS_CONFIG_FILE", ".aws/config");
    const std::string text = path.empty() ? std::string() : read_text(path);
    aws.region = ini_value(text, profile == "default" ? "default" : "profile " + profile, "region");
  }
  return {};
}

}  // namespace vdconvert
