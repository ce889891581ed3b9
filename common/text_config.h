// Loads a config file written in protobuf text format into its schema message
// (cairn.v1.ServerConfig or AgentConfig). Unknown keys and bad values are
// errors that name the file, the line and the key.
//
//   v1::ServerConfig config;
//   RETURN_IF_ERROR(LoadTextConfig("/etc/cairn/server.conf", &config));
#ifndef CAIRN_COMMON_TEXT_CONFIG_H_
#define CAIRN_COMMON_TEXT_CONFIG_H_

#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cairn {

absl::Status ParseTextConfig(absl::string_view text, absl::string_view source,
                             google::protobuf::Message* config);
absl::Status LoadTextConfig(const std::string& path, google::protobuf::Message* config);
std::string PrintTextConfig(const google::protobuf::Message& config);

}  // namespace cairn

#endif  // CAIRN_COMMON_TEXT_CONFIG_H_
