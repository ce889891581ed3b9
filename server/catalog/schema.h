// The catalog's schema: its tables (docs/catalog.md) and the one function
// that creates them or checks that an existing catalog has this version.
#ifndef CAIRN_SERVER_CATALOG_SCHEMA_H_
#define CAIRN_SERVER_CATALOG_SCHEMA_H_

#include "absl/status/status.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

inline constexpr int kCatalogSchemaVersion = 7;

// Creates missing tables and indexes and records the schema version, or
// brings a catalog of version 1 to 6 to this version (in one transaction);
// FailedPrecondition if the catalog was written by another version.
absl::Status MigrateCatalog(SqliteDb* db);

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_SCHEMA_H_
