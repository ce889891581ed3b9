// Who this agent is to the server: its credentials file (written by
// `cairn-agent enroll`, read by every other command), enrollment with a join
// token, renewal of its certificate before it expires, and the Hello every
// session starts with (which proves the tenant key by its check value).
//
//   ASSIGN_OR_RETURN(v1::ClientCredentials c, LoadAgentCredentials(config));
//   ASSIGN_OR_RETURN(config, ApplyIdentity(config, c));  // name and tenant from the certificate
#ifndef CAIRN_AGENT_AGENT_IDENTITY_H_
#define CAIRN_AGENT_AGENT_IDENTITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/agent_config.h"
#include "agent/server_connection.h"
#include "cairn/v1/agent.pb.h"
#include "cairn/v1/config.pb.h"
#include "cairn/v1/security.pb.h"

namespace cairn {

// The credentials file the config names; NotFound saying how to enroll.
absl::StatusOr<v1::ClientCredentials> LoadAgentCredentials(const v1::AgentConfig& config);
// `config` with the name and tenant the credentials (the certificate) carry,
// and their server address when the config names none.
v1::AgentConfig ApplyIdentity(v1::AgentConfig config, const v1::ClientCredentials& credentials,
                              bool server_given);

// Enrolls at `server` with `token`: checks the server's CA against the
// fingerprint the token pins, makes a key and a CSR, and has the server sign
// a certificate for `config.name()`. Writes the credentials file and
// returns what it wrote (the tenant is the token's).
absl::StatusOr<v1::ClientCredentials> EnrollAgent(const v1::AgentConfig& config,
                                                  const std::string& server,
                                                  const std::string& token,
                                                  const std::string& key_check);

// Renews the certificate when less than a third of its lifetime is left:
// a new key, signed by the server over `connection`; the credentials file
// is replaced and `connection` uses it. True if it renewed.
absl::StatusOr<bool> RenewIfDue(ServerConnection* connection, const v1::AgentConfig& config,
                                v1::ClientCredentials* credentials, absl::Time now);

// The Hello of this agent: name, tenant, version, host, roots, key check.
v1::HelloRequest MakeHello(const v1::AgentConfig& config, const AgentCrypto& crypto,
                           bool with_roots);

}  // namespace cairn

#endif  // CAIRN_AGENT_AGENT_IDENTITY_H_
