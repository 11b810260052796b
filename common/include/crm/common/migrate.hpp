#pragma once
// Schema migrations: the suite's own tables (outbox, processed events) first, then the service's
// migrations/NNNN_name.sql files in name order. Each file runs in its own transaction as the owner role, under a
// PostgreSQL advisory lock (replicas starting together wait for each other), and is recorded with its checksum in
// schema_migrations; a file changed after it was applied stops the start-up. Afterwards the service's (non-owner)
// application role gets DML rights on the tables, never ownership, so row-level security applies to it.
#include <string>
#include <vector>

namespace crm::common {

struct MigrationSettings {
    std::string admin_url;  // owner role
    std::string app_url;    // application role that receives grants (may be empty)
    std::string dir;        // folder with NNNN_name.sql files
};

struct MigrationFile {
    std::string version;  // file name without .sql
    std::string sql;
};

// Lists the migration files of a folder in order; throws std::runtime_error for a missing folder or a bad name.
std::vector<MigrationFile> LoadMigrationFiles(const std::string& dir);

// Applies what is missing; returns the versions applied now. Throws std::runtime_error with a clear message.
std::vector<std::string> RunMigrations(const MigrationSettings& settings);

}  // namespace crm::common
