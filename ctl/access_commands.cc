// cairnctl commands that manage access: join tokens, agents' approval and
// revocation, admin credentials, the audit log.
#include <sys/stat.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/client_tls.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/x509.h"
#include "ctl/cli.h"
#include "ctl/output.h"

namespace cairn::ctl {
namespace {

std::string When(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string RoleText(v1::Role role) {
  switch (role) {
    case v1::ROLE_VIEWER:
      return "viewer";
    case v1::ROLE_OPERATOR:
      return "operator";
    case v1::ROLE_ADMIN:
      return "admin";
    default:
      return "?";
  }
}

}  // namespace

int Token(AdminClient& client, const std::vector<std::string>& args) {
  const std::string sub = args.empty() ? "" : args[0];
  if (sub == "create" && args.size() == 1) {
    v1::CreateJoinTokenRequest request;
    request.set_tenant(absl::GetFlag(FLAGS_tenant));
    if (request.tenant().empty()) {
      return Fail(absl::InvalidArgumentError("token create needs --tenant T"));
    }
    request.set_agent_glob(absl::GetFlag(FLAGS_agents));
    if (!absl::GetFlag(FLAGS_ttl).empty()) {
      absl::StatusOr<absl::Duration> ttl = ParseAge("ttl", absl::GetFlag(FLAGS_ttl));
      if (!ttl.ok()) return Fail(ttl.status());
      request.set_ttl_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(*ttl)));
    }
    request.set_uses(absl::GetFlag(FLAGS_uses));
    request.set_needs_approval(absl::GetFlag(FLAGS_approval));
    auto created = client.Call(&v1::AccessService::Stub::CreateJoinToken, request);
    if (!created.ok()) return Fail(created.status());
    if (PrintedJson(*created)) return 0;
    const v1::JoinToken& t = created->info();
    std::cerr << absl::StrFormat(
        "join token %s for tenant %s, agents '%s', %d use(s), valid until %s UTC%s\n"
        "On the agent: cairn-agent enroll --server %s --token TOKEN\n",
        t.id(), t.tenant(), t.agent_glob(), t.uses_left(), When(t.expires_unix_ms()),
        t.needs_approval() ? ", needs approval" : "", client.address());
    std::cout << created->token() << "\n";
    return 0;
  }
  if (sub == "list" && args.size() == 1) {
    auto tokens =
        client.Call(&v1::AccessService::Stub::ListJoinTokens, v1::ListJoinTokensRequest());
    if (!tokens.ok()) return Fail(tokens.status());
    if (PrintedJson(*tokens)) return 0;
    Table table({"ID", "TENANT", "AGENTS", "USES LEFT", "EXPIRES", "APPROVAL", "CREATED BY"});
    for (const v1::JoinToken& t : tokens->tokens()) {
      table.Add({t.id(), t.tenant(), t.agent_glob(), absl::StrCat(t.uses_left()),
                 When(t.expires_unix_ms()), t.needs_approval() ? "yes" : "no", t.created_by()});
    }
    std::cout << table.Render();
    return 0;
  }
  if (sub == "delete" && args.size() == 2) {
    v1::DeleteJoinTokenRequest request;
    request.set_id(args[1]);
    auto deleted = client.Call(&v1::AccessService::Stub::DeleteJoinToken, request);
    if (!deleted.ok()) return Fail(deleted.status());
    std::cout << "deleted join token " << args[1] << "\n";
    return 0;
  }
  return Usage("token create --tenant T [...] | token list | token delete ID");
}

int AgentsCommand(AdminClient& client, const std::vector<std::string>& args) {
  if (args.size() != 2 || (args[0] != "approve" && args[0] != "revoke")) {
    return Usage("agents | agents approve NAME | agents revoke NAME");
  }
  v1::AgentAccessRequest request;
  request.set_agent(args[1]);
  const bool approve = args[0] == "approve";
  auto done = client.Call(
      approve ? &v1::AccessService::Stub::ApproveAgent : &v1::AccessService::Stub::RevokeAgent,
      request);
  if (!done.ok()) return Fail(done.status());
  if (PrintedJson(*done)) return 0;
  std::cout << (approve ? "approved " : "revoked ") << args[1]
            << (approve ? ""
                        : ": its every call is refused from now on; enroll it again with a "
                          "new token to bring it back")
            << "\n";
  return 0;
}

// ca.pem, cert.pem and key.pem (0600) in `dir` (made 0700 when missing):
// what Prometheus' tls_config and curl take.
absl::Status WritePemFiles(const std::string& dir, const v1::ClientCredentials& credentials) {
  if (credentials.cert_pem().empty() || credentials.key_pem().empty()) {
    return absl::InvalidArgumentError("the credentials hold no certificate and key");
  }
  RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/ca.pem", credentials.ca_cert_pem(), 0644));
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/cert.pem", credentials.cert_pem(), 0644));
  return WriteFileAtomically(dir + "/key.pem", credentials.key_pem(), 0600);
}

int CredentialsCommand(AdminClient& client, const std::vector<std::string>& args) {
  const std::string sub = args.empty() ? "" : args[0];
  if (sub == "create" && args.size() == 1) {
    const std::string name = absl::GetFlag(FLAGS_name);
    const std::string role_text = absl::AsciiStrToLower(absl::GetFlag(FLAGS_role));
    v1::Role role = role_text == "viewer"     ? v1::ROLE_VIEWER
                    : role_text == "operator" ? v1::ROLE_OPERATOR
                    : role_text == "admin"    ? v1::ROLE_ADMIN
                                              : v1::ROLE_UNSPECIFIED;
    if (name.empty() || role == v1::ROLE_UNSPECIFIED) {
      return Fail(absl::InvalidArgumentError(
          "credentials create needs --name N and --role viewer|operator|admin"));
    }
    const std::string out =
        absl::GetFlag(FLAGS_out).empty() ? name + ".credentials" : absl::GetFlag(FLAGS_out);
    struct stat st;
    if (::stat(out.c_str(), &st) == 0) {
      return Fail(absl::AlreadyExistsError(absl::StrCat(out, " exists; refusing to replace it")));
    }
    v1::CreateCredentialRequest request;
    request.set_name(name);
    request.set_role(role);
    if (!absl::GetFlag(FLAGS_ttl).empty()) {
      absl::StatusOr<absl::Duration> ttl = ParseAge("ttl", absl::GetFlag(FLAGS_ttl));
      if (!ttl.ok()) return Fail(ttl.status());
      request.set_ttl_days(static_cast<uint32_t>(std::max<int64_t>(1, *ttl / absl::Hours(24))));
    }
    // The key is made here and never leaves this machine; the server signs its CSR.
    absl::StatusOr<std::string> key = GeneratePrivateKeyPem();
    if (!key.ok()) return Fail(key.status());
    absl::StatusOr<std::string> csr = MakeCsrPem(*key);
    if (!csr.ok()) return Fail(csr.status());
    request.set_csr_pem(*csr);
    auto created = client.Call(&v1::AccessService::Stub::CreateCredential, request);
    if (!created.ok()) return Fail(created.status());
    v1::ClientCredentials file;
    file.set_server(client.address());
    file.set_server_name(created->server_name());
    file.set_ca_cert_pem(created->ca_cert_pem());
    file.set_cert_pem(created->cert_pem());
    file.set_key_pem(*key);
    file.set_name(name);
    file.set_role(role);
    absl::Status written = WriteCredentialsFile(out, file);
    if (!written.ok()) return Fail(written);
    std::cout << "credential " << name << " (" << RoleText(role) << ") written to " << out
              << " (mode 0600): cairnctl --credentials " << out << " status\n";
    if (const std::string dir = absl::GetFlag(FLAGS_pem_dir); !dir.empty()) {
      absl::Status pem = WritePemFiles(dir, file);
      if (!pem.ok()) return Fail(pem);
      std::cout << "and as PEM files in " << dir << ": ca.pem, cert.pem, key.pem (mode 0600)\n";
    }
    return 0;
  }
  if (sub == "pem" && args.size() == 3) {
    absl::StatusOr<v1::ClientCredentials> file = ReadCredentialsFile(args[1]);
    if (!file.ok()) return Fail(file.status());
    absl::Status pem = WritePemFiles(args[2], *file);
    if (!pem.ok()) return Fail(pem);
    std::cout << "wrote " << args[2] << "/ca.pem, cert.pem, key.pem (mode 0600)\n";
    return 0;
  }
  if (sub == "list" && args.size() == 1) {
    auto list =
        client.Call(&v1::AccessService::Stub::ListCredentials, v1::ListCredentialsRequest());
    if (!list.ok()) return Fail(list.status());
    if (PrintedJson(*list)) return 0;
    Table table({"NAME", "ROLE", "CREATED", "EXPIRES", "STATE", "CREATED BY"});
    const int64_t now = absl::ToUnixMillis(absl::Now());
    for (const v1::Credential& c : list->credentials()) {
      table.Add({c.name(), RoleText(c.role()), When(c.created_unix_ms()), When(c.expires_unix_ms()),
                 c.revoked() ? "revoked" : (c.expires_unix_ms() <= now ? "expired" : "live"),
                 c.created_by()});
    }
    std::cout << table.Render();
    return 0;
  }
  if (sub == "revoke" && args.size() == 2) {
    v1::RevokeCredentialRequest request;
    request.set_name(args[1]);
    auto revoked = client.Call(&v1::AccessService::Stub::RevokeCredential, request);
    if (!revoked.ok()) return Fail(revoked.status());
    std::cout << "revoked credential " << args[1] << "\n";
    return 0;
  }
  return Usage(
      "credentials create --name N --role R [--pem-dir DIR] | credentials list | credentials "
      "revoke NAME | credentials pem FILE DIR");
}

int Web(AdminClient& client) {
  auto login = client.Call(&v1::AccessService::Stub::CreateWebLogin, v1::CreateWebLoginRequest());
  if (!login.ok()) return Fail(login.status());
  if (PrintedJson(*login)) return 0;
  const std::string name = login->server_name().empty() ? "cairn-server" : login->server_name();
  std::string host = client.address().substr(0, client.address().rfind(':'));
  if (absl::StartsWith(host, "local:") || absl::StartsWith(host, "unix:")) host = "127.0.0.1";
  std::cout
      << "https://" << name << ":" << login->web_port() << "/login?token=" << login->token()
      << "\n\nOpen it within 5 minutes (it works once; the session lasts 12 hours).\n"
      << "The server's certificate names " << name << ": reach the server by that name "
      << "(for example a hosts line \"" << host << " " << name << "\"), and trust its CA "
      << "(STATE_DIR/tls/ca.crt on the server, whose fingerprint cairn-server printed at start).\n";
  return 0;
}

int Audit(AdminClient& client) {
  v1::ListAuditRequest request;
  const std::string since = absl::GetFlag(FLAGS_since);
  if (!since.empty()) {
    absl::Time at;
    std::string error;
    if (absl::ParseTime("%Y-%m-%d", since, absl::UTCTimeZone(), &at, &error)) {
      request.set_since_unix_ms(absl::ToUnixMillis(at));
    } else {
      absl::StatusOr<absl::Duration> ago = ParseAge("since", since);
      if (!ago.ok()) return Fail(ago.status());
      request.set_since_unix_ms(absl::ToUnixMillis(absl::Now() - *ago));
    }
  }
  request.set_refused_only(absl::GetFlag(FLAGS_refused));
  uint32_t wanted = absl::GetFlag(FLAGS_limit) == 0 ? 1000 : absl::GetFlag(FLAGS_limit);
  v1::ListAuditResponse all;
  while (static_cast<uint32_t>(all.entries_size()) < wanted) {
    request.set_limit(std::min<uint32_t>(1000, wanted - all.entries_size()));
    auto page = client.Call(&v1::AccessService::Stub::ListAudit, request);
    if (!page.ok()) return Fail(page.status());
    if (page->entries().empty()) break;
    request.set_after_id(page->entries().rbegin()->id());
    for (v1::AuditEntry& e : *page->mutable_entries()) *all.add_entries() = std::move(e);
  }
  if (PrintedJson(all)) return 0;
  Table table({"TIME (UTC)", "WHO", "WHAT", "ON", "RESULT"});
  for (const v1::AuditEntry& e : all.entries()) {
    std::string what = e.method();
    if (size_t slash = what.rfind('/'); slash != std::string::npos) what = what.substr(slash + 1);
    table.Add({When(e.time_unix_ms()), e.who(), what, e.resource(),
               e.code() == "OK" ? "ok" : absl::StrCat(e.code(), ": ", e.message())});
  }
  std::cout << table.Render();
  return 0;
}

}  // namespace cairn::ctl
