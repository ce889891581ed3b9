// Who is calling. The RPC layer works it out once per call (from the
// transport) and hands it to the core, which checks resources with it: an
// agent acts only as itself and on its own tenant's data.
//
//   if (!caller.MayActAsAgent(job.agent())) return absl::PermissionDeniedError(...);
#ifndef CAIRN_SERVER_AUTH_CALLER_H_
#define CAIRN_SERVER_AUTH_CALLER_H_

#include <string>

#include "absl/strings/string_view.h"

namespace cairn {

// What an admin credential allows; each role includes the ones before it.
enum class Role { kNone = 0, kViewer = 1, kOperator = 2, kAdmin = 3 };

struct Caller {
  enum class Kind {
    // The plaintext transport cannot tell callers apart: every caller is
    // trusted with everything (docs/security.md says to keep such a server
    // on a trusted network).
    kTrusted,
    kAgent,  // an agent, named with its tenant
    kAdmin,  // an admin credential with a role
  };
  Kind kind = Kind::kTrusted;
  std::string name;    // agent name or credential name
  std::string tenant;  // agents only
  Role role = Role::kNone;

  static Caller Trusted() { return Caller{}; }
  static Caller Agent(std::string name, std::string tenant) {
    return Caller{Kind::kAgent, std::move(name), std::move(tenant), Role::kNone};
  }
  static Caller Admin(std::string name, Role role) {
    return Caller{Kind::kAdmin, std::move(name), "", role};
  }

  // Whether the caller may act as agent `agent`: the agent itself, or a
  // trusted caller.
  bool MayActAsAgent(absl::string_view agent) const {
    return kind == Kind::kTrusted || (kind == Kind::kAgent && name == agent);
  }
  // Whether the caller may read or write tenant `t`'s data as an agent.
  bool MayUseTenant(absl::string_view t) const {
    return kind != Kind::kAgent || tenant == t;
  }
  // Whether the caller has at least `needed` as an admin.
  bool HasRole(Role needed) const {
    return kind == Kind::kTrusted || (kind == Kind::kAdmin && role >= needed);
  }
  // For messages and the audit log.
  std::string Describe() const;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_AUTH_CALLER_H_
