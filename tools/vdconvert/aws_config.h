// AWS credentials and region the way the AWS CLI finds them, for the library, which reads no
// environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the profile
// (--profile, AWS_PROFILE, "default") of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
// ~/.aws/credentials); the region from --region, AWS_REGION, AWS_DEFAULT_REGION, else the
// profile's in the config file (AWS_CONFIG_FILE, ~/.aws/config).
#ifndef VDCONVERT_AWS_CONFIG_H_
#define VDCONVERT_AWS_CONFIG_H_

#include <string>

#include "vdisk/cloud.h"

namespace vdconvert {

// Fills `aws`' credentials and region. `profile` and `region` are the command line's ("" when
// not given). invalid_argument for an unreadable or malformed file that was asked for.
vdisk::Status load_aws_config(vdisk::AwsOptions& aws, const std::string& profile,
                              const std::string& region);

// The value of `key` in section `section` of INI text ("" when absent).
std::string ini_value(const std::string& text, const std::string& section, const std::string& key);

}  // namespace vdconvert

#endif  // VDCONVERT_AWS_CONFIG_H_
