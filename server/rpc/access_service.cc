#include "server/rpc/access_service.h"

#include "common/status_macros.h"
#include "server/rpc/admission.h"

namespace cairn {
namespace {

using grpc::ServerContext;

class EnrollServiceImpl final : public v1::EnrollService::Service {
 public:
  explicit EnrollServiceImpl(ServerCore* core) : core_(core), gate_(core) {}

  grpc::Status GetCaCertificate(ServerContext* context, const v1::GetCaCertificateRequest* request,
                                v1::GetCaCertificateResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(EnrollService, GetCaCertificate), *request, response,
                       [&](const Caller& c) { return core_->access().GetCaCertificate(c); });
  }

  grpc::Status Enroll(ServerContext* context, const v1::EnrollRequest* request,
                      v1::EnrollResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(EnrollService, Enroll), *request, response,
                       [&](const Caller& c) { return core_->access().Enroll(c, *request); });
  }

 private:
  ServerCore* core_;
  Admission gate_;
};

class AccessServiceImpl final : public v1::AccessService::Service {
 public:
  explicit AccessServiceImpl(ServerCore* core) : core_(core), gate_(core) {}

  grpc::Status CreateJoinToken(ServerContext* context, const v1::CreateJoinTokenRequest* request,
                               v1::CreateJoinTokenResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AccessService, CreateJoinToken), *request, response,
        [&](const Caller& c) { return core_->access().CreateJoinToken(c, *request); });
  }

  grpc::Status ListJoinTokens(ServerContext* context, const v1::ListJoinTokensRequest* request,
                              v1::ListJoinTokensResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AccessService, ListJoinTokens), *request, response,
                       [&](const Caller& c) { return core_->access().ListJoinTokens(c); });
  }

  grpc::Status DeleteJoinToken(ServerContext* context, const v1::DeleteJoinTokenRequest* request,
                               v1::DeleteJoinTokenResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AccessService, DeleteJoinToken), *request, response,
        [&](const Caller& c) { return core_->access().DeleteJoinToken(c, *request); });
  }

  grpc::Status ApproveAgent(ServerContext* context, const v1::AgentAccessRequest* request,
                            v1::AgentAccessResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AccessService, ApproveAgent), *request, response,
                       [&](const Caller& c) { return core_->access().ApproveAgent(c, *request); });
  }

  grpc::Status RevokeAgent(ServerContext* context, const v1::AgentAccessRequest* request,
                           v1::AgentAccessResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AccessService, RevokeAgent), *request, response,
                       [&](const Caller& c) { return core_->access().RevokeAgent(c, *request); });
  }

  grpc::Status CreateCredential(ServerContext* context, const v1::CreateCredentialRequest* request,
                                v1::CreateCredentialResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AccessService, CreateCredential), *request, response,
        [&](const Caller& c) { return core_->access().CreateCredential(c, *request); });
  }

  grpc::Status ListCredentials(ServerContext* context, const v1::ListCredentialsRequest* request,
                               v1::ListCredentialsResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AccessService, ListCredentials), *request, response,
                       [&](const Caller& c) { return core_->access().ListCredentials(c); });
  }

  grpc::Status RevokeCredential(ServerContext* context, const v1::RevokeCredentialRequest* request,
                                v1::RevokeCredentialResponse* response) override {
    return gate_.Unary(
        context, CAIRN_METHOD(AccessService, RevokeCredential), *request, response,
        [&](const Caller& c) { return core_->access().RevokeCredential(c, *request); });
  }

  grpc::Status CreateWebLogin(ServerContext* context, const v1::CreateWebLoginRequest* request,
                              v1::CreateWebLoginResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AccessService, CreateWebLogin), *request, response,
                       [&](const Caller& c) -> absl::StatusOr<v1::CreateWebLoginResponse> {
                         WebSessions& sessions = core_->web_sessions();
                         if (sessions.web_port() == 0) {
                           return absl::FailedPreconditionError(
                               "the server's web listener is off (web.disabled, or its port "
                               "was taken at start: see the server's log)");
                         }
                         ASSIGN_OR_RETURN(WebLogin login, sessions.NewLogin(c));
                         v1::CreateWebLoginResponse r;
                         r.set_token(login.token);
                         r.set_expires_unix_ms(absl::ToUnixMillis(login.expires));
                         r.set_web_port(sessions.web_port());
                         if (core_->options().pki != nullptr) {
                           r.set_server_name(core_->options().pki->server_name);
                         }
                         return r;
                       });
  }

  grpc::Status ListAudit(ServerContext* context, const v1::ListAuditRequest* request,
                         v1::ListAuditResponse* response) override {
    return gate_.Unary(context, CAIRN_METHOD(AccessService, ListAudit), *request, response,
                       [&](const Caller& c) { return core_->access().ListAudit(c, *request); });
  }

 private:
  ServerCore* core_;
  Admission gate_;
};

}  // namespace

std::unique_ptr<v1::EnrollService::Service> NewEnrollService(ServerCore* core) {
  return std::make_unique<EnrollServiceImpl>(core);
}

std::unique_ptr<v1::AccessService::Service> NewAccessService(ServerCore* core) {
  return std::make_unique<AccessServiceImpl>(core);
}

}  // namespace cairn
