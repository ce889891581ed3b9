// The example configs in deploy/ are what a newcomer copies: they must
// parse and resolve as they are, and say what the docs say they say.
#include <fstream>
#include <iterator>
#include <string>

#include "agent/agent_config.h"
#include "common/text_config.h"
#include "gtest/gtest.h"
#include "server/server.h"

namespace cairn {
namespace {

std::string ReadDeployFile(const std::string& name) {
  std::ifstream in(std::string(CAIRN_DEPLOY_DIR) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(DeployExamplesTest, ServerConfigExampleResolves) {
  v1::ServerConfig config;
  ASSERT_TRUE(
      ParseTextConfig(ReadDeployFile("server.conf.example"), "server.conf.example", &config).ok());
  absl::StatusOr<v1::ServerConfig> resolved = ResolveServerConfig(config);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->listen(), "0.0.0.0:7420");
  EXPECT_EQ(resolved->state_dir(), "/var/lib/cairn/server");
  EXPECT_EQ(DefaultWebListen(resolved->listen()), "0.0.0.0:7421");
  EXPECT_GT(resolved->min_retention_days(), 0u);
}

TEST(DeployExamplesTest, AgentConfigExampleResolves) {
  v1::AgentConfig config;
  ASSERT_TRUE(
      ParseTextConfig(ReadDeployFile("agent.conf.example"), "agent.conf.example", &config).ok());
  absl::StatusOr<v1::AgentConfig> resolved = ResolveAgentConfig(config);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->state_dir(), "/var/lib/cairn/agent");
  EXPECT_GE(resolved->roots_size(), 1);
}

}  // namespace
}  // namespace cairn
