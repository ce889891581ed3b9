#include "server/rpc/rpc_metrics.h"

#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/auth/method_access.h"

namespace cairn {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, ServerMetrics* metrics)
      : metrics_(metrics),
        method_(info->method() != nullptr && RuleFor(info->method()).has_value() ? info->method()
                                                                                 : "unknown"),
        start_(absl::Now()) {}

  // A call that ended without a status sent (the client went away first).
  ~MetricsInterceptor() override {
    if (!counted_) Count(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Count(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Count(grpc::StatusCode code) {
    counted_ = true;
    metrics_->RpcDone(method_, GrpcCodeName(code), absl::ToDoubleSeconds(absl::Now() - start_));
  }

  ServerMetrics* metrics_;
  const std::string method_;
  const absl::Time start_;
  bool counted_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(ServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  ServerMetrics* metrics_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RpcMetricsInterceptors(ServerMetrics* metrics) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<MetricsInterceptorFactory>(metrics));
  return out;
}

std::string GrpcCodeName(grpc::StatusCode code) {
  // gRPC's codes are absl's, with the same numbers and names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace cairn
