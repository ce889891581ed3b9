#include "server/rpc/admission.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/client_tls.h"
#include "common/data_mac.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "server/auth/method_access.h"

namespace cairn {
namespace {

// The fields that say what a call acts on. Tokens, CSRs, keys and data are
// never among them.
constexpr absl::string_view kResourceFields[] = {"agent",
                                                 "tenant",
                                                 "name",
                                                 "snapshot_id",
                                                 "job_id",
                                                 "id",
                                                 "target_agent",
                                                 "target_directory",
                                                 "from_snapshot_id",
                                                 "to_snapshot_id",
                                                 "role",
                                                 "agent_glob",
                                                 "overwrite",
                                                 "allow_special",
                                                 "dry_run"};

void AppendResource(const google::protobuf::Message& message, int depth, std::string* out) {
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  const google::protobuf::Reflection* r = message.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) continue;
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (depth < 2 && r->HasField(message, f))
        AppendResource(r->GetMessage(message, f), depth + 1, out);
      continue;
    }
    bool wanted = false;
    for (absl::string_view name : kResourceFields) wanted = wanted || f->name() == name;
    if (!wanted) continue;
    std::string value;
    switch (f->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_STRING:
        value = r->GetString(message, f);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_BOOL:
        value = r->GetBool(message, f) ? "true" : "";
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_ENUM:
        value = r->GetEnum(message, f)->number() == 0 ? "" : r->GetEnum(message, f)->name();
        break;
      default:
        break;
    }
    if (value.empty()) continue;
    absl::StrAppend(out, out->empty() ? "" : " ", f->name(), "=", value);
  }
}

// The client certificate the TLS handshake saw, or "" when there was none.
std::string PeerCertificate(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  std::vector<grpc::string_ref> pem = auth->FindPropertyValues("x509_pem_cert");
  if (pem.empty()) return "";
  return std::string(pem.front().data(), pem.front().size());
}

// A caller on the server's local socket (ServerConfig.local_socket): the
// agent its metadata names, or the admin "local". Whoever can open that
// socket can read the state directory, CA key included, anyway.
std::optional<absl::StatusOr<Caller>> LocalCaller(const grpc::ServerContextBase& context) {
  if (!absl::StartsWith(context.peer(), "unix:")) return std::nullopt;
  // The TLS port may be a Unix socket too; only the plaintext one is local.
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) {
    for (const grpc::string_ref& type : auth->FindPropertyValues("transport_security_type")) {
      if (type == "ssl") return std::nullopt;
    }
  }
  const std::multimap<grpc::string_ref, grpc::string_ref>& metadata = context.client_metadata();
  auto agent = metadata.find(kLocalAgentMetadata);
  auto tenant = metadata.find(kLocalTenantMetadata);
  if (agent == metadata.end() || tenant == metadata.end()) {
    Caller admin = Caller::Admin("local", Role::kAdmin);
    admin.serial = "local";
    return admin;
  }
  Caller caller = Caller::Agent(std::string(agent->second.data(), agent->second.size()),
                                std::string(tenant->second.data(), tenant->second.size()));
  absl::Status named = ValidateAgentName(caller.name, "agent name");
  if (named.ok()) named = ValidateAgentName(caller.tenant, "tenant");
  if (!named.ok()) return absl::UnauthenticatedError(named.message());
  caller.serial = "local";
  return caller;
}

}  // namespace

std::string AuditResource(const google::protobuf::Message& request) {
  std::string out;
  AppendResource(request, 0, &out);
  return out;
}

absl::StatusOr<Caller> Admission::Admit(grpc::ServerContextBase* context, absl::string_view method,
                                        const google::protobuf::Message* request) {
  std::optional<absl::StatusOr<Caller>> local = LocalCaller(*context);
  absl::StatusOr<Caller> caller = local.has_value()
                                      ? *std::move(local)
                                      : core_->authenticator().Identify(PeerCertificate(*context));
  absl::Status allowed = caller.ok() ? Authorize(*caller, method) : caller.status();
  if (allowed.ok()) return caller;
  core_->audit().Record(caller.ok() ? *caller : Caller::Anonymous(), context->peer(), method,
                        request != nullptr ? AuditResource(*request) : "", allowed);
  return allowed;
}

absl::StatusOr<DataCallGrant> Admission::AdmitData(grpc::ServerContextBase* context,
                                                   absl::string_view method) {
  const std::multimap<grpc::string_ref, grpc::string_ref>& metadata = context->client_metadata();
  auto session = metadata.find(kDataSessionMetadata);
  auto call = metadata.find(kDataCallMetadata);
  absl::StatusOr<DataCallGrant> grant;
  uint64_t number = 0;
  if (session == metadata.end() || call == metadata.end() ||
      !absl::SimpleAtoi(absl::string_view(call->second.data(), call->second.size()), &number)) {
    grant = absl::UnauthenticatedError(absl::StrCat(
        "the data port takes only calls of a data session (", kDataSessionMetadata, " and ",
        kDataCallMetadata, " metadata); open one with OpenDataSession over TLS"));
  } else {
    grant = core_->data_sessions().Admit(
        absl::string_view(session->second.data(), session->second.size()), number);
  }
  absl::Status allowed = grant.ok() ? Authorize(grant->caller, method) : grant.status();
  if (allowed.ok()) return grant;
  core_->audit().Record(grant.ok() ? grant->caller : Caller::Anonymous(), context->peer(), method,
                        "data port", allowed);
  return allowed;
}

void Admission::Done(const Caller& caller, grpc::ServerContextBase* context,
                     absl::string_view method, const google::protobuf::Message* request,
                     const absl::Status& outcome) {
  std::optional<MethodRule> rule = RuleFor(method);
  const bool refused = absl::IsPermissionDenied(outcome) || absl::IsUnauthenticated(outcome);
  if (!refused && !(rule.has_value() && rule->audited)) return;
  core_->audit().Record(caller, context->peer(), method,
                        request != nullptr ? AuditResource(*request) : "", outcome);
}

}  // namespace cairn
