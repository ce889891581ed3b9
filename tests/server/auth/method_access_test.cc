// The method access table and Authorize: every method of every service in
// proto/cairn/v1/*.proto (the directory is listed, the methods read from the
// generated descriptors) has an entry, agent methods need an agent, admin
// and access-management methods a role, only enrollment is open to anyone,
// and each caller kind and role gets exactly the methods it should.
#include "server/auth/method_access.h"

#include <dirent.h>
#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/v1/admin.grpc.pb.h"
#include "cairn/v1/agent.grpc.pb.h"
#include "cairn/v1/security.grpc.pb.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/caller.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

// "/cairn.v1.AgentService/Hello" for every method of the service.
std::vector<std::string> MethodsOf(const char* service_full_name) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_full_name);
  EXPECT_NE(service, nullptr) << service_full_name;
  std::vector<std::string> methods;
  if (service == nullptr) return methods;
  for (int i = 0; i < service->method_count(); ++i) {
    methods.push_back(absl::StrCat("/", service->full_name(), "/", service->method(i)->name()));
  }
  return methods;
}

std::vector<std::string> AgentMethods() { return MethodsOf(v1::AgentService::service_full_name()); }
std::vector<std::string> AdminMethods() { return MethodsOf(v1::AdminService::service_full_name()); }

TEST(MethodAccessTest, EveryServiceMethodIsInTheTable) {
  std::vector<std::string> agent = AgentMethods(), admin = AdminMethods();
  EXPECT_GE(agent.size(), 12u);
  EXPECT_GE(admin.size(), 17u);
  for (const std::string& m : agent) {
    std::optional<Access> access = AccessFor(m);
    ASSERT_TRUE(access.has_value()) << m << " is missing from the access table";
    EXPECT_EQ(*access, Access::kAgent) << m;
  }
  for (const std::string& m : admin) {
    std::optional<Access> access = AccessFor(m);
    ASSERT_TRUE(access.has_value()) << m << " is missing from the access table";
    EXPECT_NE(*access, Access::kAgent) << m << ": an admin method open to agents";
  }
}

// proto/cairn/v1, found from this file's path.
std::string ProtoDir() { return CAIRN_PROTO_DIR; }

// The .proto files of proto/cairn/v1.
std::vector<std::string> ProtoFiles() {
  std::vector<std::string> names;
  DIR* dir = ::opendir(ProtoDir().c_str());
  EXPECT_NE(dir, nullptr) << ProtoDir();
  if (dir == nullptr) return names;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() > 6 && name.substr(name.size() - 6) == ".proto") names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

// Whether the text of proto file `name` declares a service.
bool DeclaresAService(const std::string& name) {
  absl::StatusOr<std::string> text = ReadFileToString(ProtoDir() + "/" + name, 1 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() &&
         (absl::StartsWith(*text, "service ") || absl::StrContains(*text, "\nservice "));
}

TEST(MethodAccessTest, EveryMethodOfEveryProtoFileIsInTheTable) {
  std::vector<std::string> files = ProtoFiles();
  EXPECT_GE(files.size(), 3u);
  std::vector<std::string> services;
  for (const std::string& file : files) {
    const google::protobuf::FileDescriptor* fd =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName("cairn/v1/" + file);
    if (fd == nullptr) {
      // Not linked here: fine for message-only files, not for services.
      EXPECT_FALSE(DeclaresAService(file)) << file << " has a service the server tests lack";
      continue;
    }
    for (int s = 0; s < fd->service_count(); ++s) {
      services.push_back(std::string(fd->service(s)->full_name()));
      for (const std::string& m : MethodsOf(std::string(fd->service(s)->full_name()).c_str())) {
        EXPECT_TRUE(AccessFor(m).has_value()) << m << " is missing from the access table";
      }
    }
  }
  EXPECT_THAT(services,
              ::testing::IsSupersetOf({"cairn.v1.AgentService", "cairn.v1.AdminService",
                                       "cairn.v1.EnrollService", "cairn.v1.AccessService"}));
}

// (Every AccessService method needs admin but CreateWebLogin, which any
// admin credential may call: it signs its own holder in to the status page.)
TEST(MethodAccessTest, OnlyEnrollmentIsOpenAndAccessNeedsAdmin) {
  for (const std::string& m : MethodsOf(v1::EnrollService::service_full_name())) {
    EXPECT_EQ(AccessFor(m), Access::kAnyone) << m;
    EXPECT_OK(Authorize(Caller::Anonymous(), m));
  }
  std::vector<std::string> access = MethodsOf(v1::AccessService::service_full_name());
  EXPECT_GE(access.size(), 9u);
  for (const std::string& m : access) {
    SCOPED_TRACE(m);
    if (m == "/cairn.v1.AccessService/CreateWebLogin") {
      // A status page login: any admin credential, viewer and above.
      EXPECT_EQ(AccessFor(m), Access::kViewer);
      EXPECT_EQ(Authorize(Caller::Agent("a1", "t1"), m).code(),
                absl::StatusCode::kPermissionDenied);
      continue;
    }
    EXPECT_EQ(AccessFor(m), Access::kAdmin);
    EXPECT_OK(Authorize(Caller::Admin("a", Role::kAdmin), m));
    EXPECT_EQ(Authorize(Caller::Admin("o", Role::kOperator), m).code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(Authorize(Caller::Agent("a1", "t1"), m).code(), absl::StatusCode::kPermissionDenied);
    absl::Status anonymous = Authorize(Caller::Anonymous(), m);
    EXPECT_EQ(anonymous.code(), absl::StatusCode::kUnauthenticated) << anonymous;
    EXPECT_THAT(anonymous.message(), HasSubstr("needs a client certificate"));
  }
  // Everything else needs a certificate.
  std::vector<std::string> rest = AgentMethods();
  for (const std::string& m : AdminMethods()) rest.push_back(m);
  for (const std::string& m : rest) {
    EXPECT_EQ(Authorize(Caller::Anonymous(), m).code(), absl::StatusCode::kUnauthenticated) << m;
  }
}

TEST(MethodAccessTest, AnAgentAwaitingApprovalMaySayHelloAndRenewOnly) {
  Caller pending = Caller::Agent("a1", "t1");
  pending.approved = false;
  for (const std::string& m : AgentMethods()) {
    absl::Status s = Authorize(pending, m);
    if (m == "/cairn.v1.AgentService/Hello" || m == "/cairn.v1.AgentService/RenewCertificate") {
      EXPECT_TRUE(s.ok()) << m << ": " << s;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << m;
      EXPECT_THAT(s.message(), HasSubstr("cairnctl agents approve a1")) << m;
    }
  }
}

TEST(MethodAccessTest, UnknownMethodsAreRefusedForEveryone) {
  for (const std::string& m :
       {std::string("/cairn.v1.AdminService/DropEverything"),
        std::string("/cairn.v1.AgentService/hello"), std::string("cairn.v1.AgentService/Hello"),
        std::string("/cairn.v1.AgentService/Hello/"), std::string("/cairn.v2.AgentService/Hello"),
        std::string()}) {
    SCOPED_TRACE(m);
    EXPECT_FALSE(AccessFor(m).has_value());
    for (const Caller& caller :
         {Caller::Internal(), Caller::Agent("a1", "t1"), Caller::Admin("root", Role::kAdmin)}) {
      absl::Status status = Authorize(caller, m);
      EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
      EXPECT_THAT(status.message(), HasSubstr("not an allowed method"));
    }
  }
}

TEST(MethodAccessTest, TheReadingAndOrderingMethodsNeedTheirRoles) {
  EXPECT_EQ(AccessFor("/cairn.v1.AdminService/GetStatus"), Access::kViewer);
  EXPECT_EQ(AccessFor("/cairn.v1.AdminService/WatchJob"), Access::kViewer);
  EXPECT_EQ(AccessFor("/cairn.v1.AdminService/OrderRestore"), Access::kOperator);
  EXPECT_EQ(AccessFor("/cairn.v1.AdminService/OrderBackup"), Access::kOperator);
  EXPECT_EQ(AccessFor("/cairn.v1.AdminService/Prune"), Access::kAdmin);
  EXPECT_EQ(AccessFor("/cairn.v1.AdminService/CollectGarbage"), Access::kAdmin);
  EXPECT_EQ(AccessFor("/cairn.v1.AdminService/SetPolicy"), Access::kAdmin);
  EXPECT_EQ(AccessFor("/cairn.v1.AdminService/DeletePolicy"), Access::kAdmin);
}

// Whether a caller holding `role` may call a method needing `access`.
bool RoleSuffices(Role role, Access access) {
  switch (access) {
    case Access::kAgent:
      return false;
    case Access::kViewer:
      return role >= Role::kViewer;
    case Access::kOperator:
      return role >= Role::kOperator;
    case Access::kAdmin:
      return role >= Role::kAdmin;
  }
  return false;
}

TEST(MethodAccessTest, EachCallerGetsExactlyItsMethods) {
  std::vector<std::string> all = AgentMethods();
  for (const std::string& m : AdminMethods()) all.push_back(m);
  const std::vector<Role> roles = {Role::kNone, Role::kViewer, Role::kOperator, Role::kAdmin};
  for (const std::string& m : all) {
    SCOPED_TRACE(m);
    std::optional<Access> access = AccessFor(m);
    ASSERT_TRUE(access.has_value());
    // The plaintext transport trusts everyone with everything.
    EXPECT_OK(Authorize(Caller::Internal(), m));
    // An agent: agent methods only.
    absl::Status agent = Authorize(Caller::Agent("a1", "t1"), m);
    if (*access == Access::kAgent) {
      EXPECT_OK(agent);
    } else {
      EXPECT_EQ(agent.code(), absl::StatusCode::kPermissionDenied) << agent;
      EXPECT_THAT(agent.message(), HasSubstr("agent a1 of tenant t1"));
    }
    // Admin credentials: what their role covers, never agent methods.
    for (Role role : roles) {
      absl::Status admin = Authorize(Caller::Admin("cred", role), m);
      if (RoleSuffices(role, *access)) {
        EXPECT_OK(admin);
      } else {
        EXPECT_EQ(admin.code(), absl::StatusCode::kPermissionDenied)
            << m << " role " << static_cast<int>(role) << ": " << admin;
        EXPECT_THAT(admin.message(), HasSubstr(m));
      }
    }
  }
}

TEST(MethodAccessTest, TheRolesAtTheirBoundaries) {
  const Caller viewer = Caller::Admin("v", Role::kViewer);
  const Caller op = Caller::Admin("o", Role::kOperator);
  const Caller admin = Caller::Admin("a", Role::kAdmin);
  const Caller agent = Caller::Agent("a1", "t1");
  EXPECT_OK(Authorize(viewer, "/cairn.v1.AdminService/ListSnapshots"));
  absl::Status restore = Authorize(viewer, "/cairn.v1.AdminService/OrderRestore");
  EXPECT_EQ(restore.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(restore.message(), HasSubstr("the operator role"));
  EXPECT_OK(Authorize(op, "/cairn.v1.AdminService/OrderRestore"));
  absl::Status prune = Authorize(op, "/cairn.v1.AdminService/Prune");
  EXPECT_EQ(prune.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(prune.message(), HasSubstr("the admin role"));
  EXPECT_THAT(prune.message(), HasSubstr("credential o"));
  EXPECT_OK(Authorize(admin, "/cairn.v1.AdminService/Prune"));
  EXPECT_OK(Authorize(admin, "/cairn.v1.AdminService/CollectGarbage"));
  // An admin credential is not an agent, and an agent is no admin.
  absl::Status hello = Authorize(admin, "/cairn.v1.AgentService/Hello");
  EXPECT_EQ(hello.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(hello.message(), HasSubstr("an enrolled agent"));
  EXPECT_EQ(Authorize(agent, "/cairn.v1.AdminService/GetStatus").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(agent, "/cairn.v1.AdminService/SetPolicy").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_OK(Authorize(agent, "/cairn.v1.AgentService/Control"));
  // A credential with no role can do nothing.
  EXPECT_EQ(
      Authorize(Caller::Admin("none", Role::kNone), "/cairn.v1.AdminService/GetStatus").code(),
      absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace cairn
