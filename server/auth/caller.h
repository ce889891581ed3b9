// Who is calling. The RPC layer works it out once per call from the client
// certificate the TLS handshake saw (server/auth/authenticator.h) and hands
// it to the core, which checks resources with it: an agent acts only as
// itself and on its own tenant's data.
//
//   if (!caller.MayActAsAgent(job.agent())) return absl::PermissionDeniedError(...);
#ifndef CAIRN_SERVER_AUTH_CALLER_H_
#define CAIRN_SERVER_AUTH_CALLER_H_

#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace cairn {

// What an admin credential allows; each role includes the ones before it.
enum class Role { kNone = 0, kViewer = 1, kOperator = 2, kAdmin = 3 };

struct Caller {
  enum class Kind {
    kAnonymous,  // no client certificate: may only enroll
    kAgent,      // an enrolled agent, named with its tenant
    kAdmin,      // an admin credential with a role
    // The server itself (its scheduler) and in-process callers such as
    // tests: never a network caller.
    kInternal,
  };
  Kind kind = Kind::kAnonymous;
  std::string name;    // agent name or credential name
  std::string tenant;  // agents only
  Role role = Role::kNone;
  bool approved = true;  // agents enrolled with a token that needs approval: false until then
  std::string serial;    // of the certificate, for the audit log

  static Caller Anonymous() { return Caller{}; }
  static Caller Internal() { return Caller{.kind = Kind::kInternal}; }
  static Caller Agent(std::string name, std::string tenant) {
    return Caller{.kind = Kind::kAgent, .name = std::move(name), .tenant = std::move(tenant)};
  }
  static Caller Admin(std::string name, Role role) {
    return Caller{.kind = Kind::kAdmin, .name = std::move(name), .role = role};
  }

  // Whether the caller may act as agent `agent`: the agent itself, or the
  // server.
  bool MayActAsAgent(absl::string_view agent) const {
    return kind == Kind::kInternal || (kind == Kind::kAgent && name == agent);
  }
  // Whether the caller may read or write tenant `t`'s data as an agent.
  bool MayUseTenant(absl::string_view t) const {
    return kind == Kind::kInternal || kind == Kind::kAdmin || (kind == Kind::kAgent && tenant == t);
  }
  // Whether the caller has at least `needed` as an admin.
  bool HasRole(Role needed) const {
    return kind == Kind::kInternal || (kind == Kind::kAdmin && role >= needed);
  }
  // For messages: "agent gpu-07 of tenant t1", "credential alice (operator)".
  std::string Describe() const;
  // For the audit log: "agent:t1/gpu-07", "admin:alice", "anonymous".
  std::string Principal() const;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_CALLER_H_
