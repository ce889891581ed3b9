#include "tests/server/thread_wait_util.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cairn {

pid_t CurrentThreadId() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

bool ThreadAsleep(pid_t tid) {
  std::ifstream in(absl::StrCat("/proc/self/task/", tid, "/stat"));
  std::stringstream text;
  text << in.rdbuf();
  const std::string stat = text.str();
  // "tid (comm) S ...": the name may hold spaces and parentheses.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos || name_end + 2 >= stat.size()) return false;
  return stat[name_end + 2] == 'S';
}

bool WaitUntilAsleep(pid_t tid, const std::function<bool()>& stop, absl::Duration deadline) {
  const absl::Time give_up = absl::Now() + deadline;
  while (absl::Now() < give_up) {
    if (stop()) return false;
    if (ThreadAsleep(tid)) return true;
    std::this_thread::yield();
  }
  return false;
}

}  // namespace cairn
