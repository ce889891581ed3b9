// A stopped cairn-server's state on disk, read only, for the end-to-end
// tests: the catalog's consistency with its packs, and the packs themselves.
//
//   ASSERT_OK(server->Stop());
//   EXPECT_THAT(CatalogProblems(dir + "/server/catalog.db", dir + "/server/packs"), IsEmpty());
#ifndef CAIRN_TESTS_E2E_SERVER_STATE_UTIL_H_
#define CAIRN_TESTS_E2E_SERVER_STATE_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cairn::e2e {

// Problems with a stopped server's catalog: PRAGMA integrity_check and
// foreign_key_check, and every pack row whose file is missing from
// `pack_dir` or has another size. Empty when all is well.
std::vector<std::string> CatalogProblems(const std::string& catalog_path,
                                         const std::string& pack_dir);
// Names of committed pack files in a local tier directory (temp files, whose
// names contain '~', left out) with their sizes.
std::map<std::string, uint64_t> ListPackFiles(const std::string& pack_dir);

}  // namespace cairn::e2e

#endif  // CAIRN_TESTS_E2E_SERVER_STATE_UTIL_H_
