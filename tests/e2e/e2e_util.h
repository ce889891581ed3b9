// End-to-end test harness: real cairn-server, cairn-agent and cairnctl
// processes on loopback, a fresh directory per test. This file holds the
// basics every e2e test needs: test directories (removed when the test
// passes) and polling with a deadline. The rest, by job:
//   process_util.h       running commands, background processes, cairn-server
//   cli_util.h           cairn-agent and cairnctl command lines, the agent daemon
//   json_util.h          reading the CLI's --json output
//   tree_util.h          generated file trees and an exact tree comparison
//   server_state_util.h  a stopped server's catalog and packs on disk
//
//   std::string dir = NewTestDir("backup");
//   auto server = ServerProcess::Start(dir + "/server");  // StatusOr
//   CommandResult r = RunCommand(CtlArgs((*server)->address(), {"status", "--json"}));
#ifndef CAIRN_TESTS_E2E_E2E_UTIL_H_
#define CAIRN_TESTS_E2E_E2E_UTIL_H_

#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cairn::e2e {

// A new empty directory under ::testing::TempDir(), unique to this process,
// test and call. Left in place so a failing test can be inspected.
std::string NewTestDir(absl::string_view label);

// Polls `done` every `interval` until it returns true or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout,
             absl::Duration interval = absl::Milliseconds(20));

}  // namespace cairn::e2e

#endif  // CAIRN_TESTS_E2E_E2E_UTIL_H_
