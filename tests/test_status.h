// Status assertions for every test binary: ASSERT_OK / EXPECT_OK on an
// absl::Status, ASSERT_OK_AND_ASSIGN(lhs, statusor) that fails the test with
// the status when it is not OK.
//
//   ASSERT_OK(catalog->jobs().Insert(job, 0));
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> catalog, Catalog::Open(path));
#ifndef CAIRN_TESTS_TEST_STATUS_H_
#define CAIRN_TESTS_TEST_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

#define ASSERT_OK(expr)                                         \
  do {                                                          \
    const ::absl::Status cairn_test_status_ = (expr);           \
    ASSERT_TRUE(cairn_test_status_.ok()) << cairn_test_status_; \
  } while (0)
#define EXPECT_OK(expr)                                         \
  do {                                                          \
    const ::absl::Status cairn_test_status_ = (expr);           \
    EXPECT_TRUE(cairn_test_status_.ok()) << cairn_test_status_; \
  } while (0)
#define CAIRN_TEST_CONCAT_INNER_(a, b) a##b
#define CAIRN_TEST_CONCAT_(a, b) CAIRN_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(CAIRN_TEST_CONCAT_(cairn_test_statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();      \
  lhs = std::move(statusor).value()

// The agent tests' older names for the same checks.
#define CAIRN_ASSERT_OK(expr) ASSERT_OK(expr)
#define CAIRN_ASSERT_OK_AND_ASSIGN(lhs, expr) ASSERT_OK_AND_ASSIGN(lhs, expr)

#endif  // CAIRN_TESTS_TEST_STATUS_H_
