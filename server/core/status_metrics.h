// The metrics read at scrape time rather than kept as the server works:
// each agent's protection (online, last backup, RPO, change backlog, watcher
// problems, certificate expiry), each tier's space and health, the catalog's
// totals (cached a minute), running jobs, the
// catalog backup and the size of the catalog file. Labels: agent and tenant
// names, tier names, job kinds (bounded by the fleet, never by its data).
//
//   AddStatusMetrics(core.get(), state_dir + "/catalog.db");
#ifndef CAIRN_SERVER_CORE_STATUS_METRICS_H_
#define CAIRN_SERVER_CORE_STATUS_METRICS_H_

#include <string>

#include "server/core/server_core.h"

namespace cairn {

// Adds the collector to core->metrics(); `catalog_path` is the SQLite file
// whose size (with its write-ahead log) is reported.
void AddStatusMetrics(ServerCore* core, std::string catalog_path);

}  // namespace cairn

#endif  // CAIRN_SERVER_CORE_STATUS_METRICS_H_
