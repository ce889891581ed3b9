// Ordering threads in tests without sleeping: a thread publishes its kernel
// id, and another waits until that thread is asleep in the kernel (blocked on
// a lock, a condition or a timed wait), which shows it reached the blocking
// call, instead of hoping it did after a sleep.
//
//   std::atomic<pid_t> tid{0};
//   std::thread waiter([&] { tid = CurrentThreadId(); board.WaitForOrders(...); });
//   while (tid == 0) std::this_thread::yield();
//   ASSERT_TRUE(WaitUntilAsleep(tid, [] { return false; }));
#ifndef CAIRN_TESTS_SERVER_THREAD_WAIT_UTIL_H_
#define CAIRN_TESTS_SERVER_THREAD_WAIT_UTIL_H_

#include <sys/types.h>

#include <functional>

#include "absl/time/time.h"

namespace cairn {

// The calling thread's kernel thread id.
pid_t CurrentThreadId();

// Whether thread `tid` of this process is asleep now (state S in
// /proc/self/task/<tid>/stat).
bool ThreadAsleep(pid_t tid);

// Looks, yielding in between, until thread `tid` is asleep (true) or `stop()`
// holds (false). Gives up (false) after `deadline`, which no passing run
// reaches: a guard against hanging, not a timing assumption.
bool WaitUntilAsleep(pid_t tid, const std::function<bool()>& stop,
                     absl::Duration deadline = absl::Seconds(60));

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_THREAD_WAIT_UTIL_H_
