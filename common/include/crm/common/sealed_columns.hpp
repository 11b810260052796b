#pragma once
// Encryption at rest of personal columns (issue 15; what PostgreSQL sees: docs/privacy.md).
//
// A service stores a personal column sealed (AES-256-GCM, "pv1." + base64url) under the data key of the row's subject,
// the same per-subject key that seals the subject's events (crm_subject_keys): destroying it on erasure makes the
// column unreadable in the table, in every backup and in every dump, as in Kafka. Equality lookups (duplicate
// e-mail, a person by phone) go through a blind index beside the column: HMAC-SHA256 of the normalized value under
// the tenant's index key, never the value.
//
// Writing: a ColumnSealer per transaction seals each value (creating the subject's key in that transaction when it
// has none). Reading: the statement selects the row's wrapped key with CRM_SUBJECT_KEY_COLUMN (one index probe per
// row, no extra round trip), and a ColumnKey opens the row's values.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/db.hpp"

// clang-format off
// The wrapped data key of a row's subject ("<version>:<hex>", NULL when the subject has none: never sealed, or its key
// was destroyed). tenant_col and subject_col are SQL expressions of the row (e.g. "c.tenant_id", "c.id::text").
#define CRM_SUBJECT_KEY_COLUMN(tenant_col, subject_col)                                                            \
    "(SELECT k.kek_version::text || ':' || encode(k.wrapped_key, 'hex') FROM crm_subject_keys k"                  \
    " WHERE k.tenant_id = " tenant_col " AND k.subject_id = " subject_col ")"
// clang-format on

namespace crm::common {

// The blind index of a normalized value of `column` (e.g. "contacts.email"): 64 hex characters, the same for equal
// values of one tenant, unrelated across tenants and columns; "" for "".
std::string ColumnIndex(std::string_view tenant, std::string_view column, std::string_view normalized);

// Seals the personal columns written in one transaction.
class ColumnSealer {
  public:
    ColumnSealer(Db& db, pqxx::transaction_base& tx, std::string tenant);
    // Fetches (or creates) the keys of these subjects in one statement, before many Seal calls.
    void Prepare(const std::vector<std::string>& subjects);
    // `value` sealed for `column` of `subject` (bound to the three: it opens nowhere else); "" stays "".
    std::string Seal(const std::string& subject, std::string_view column, std::string_view value);
    // A JSON object of string values (a jsonb column such as a web form's mapped fields) with each value sealed for
    // "<column>.<key>": the keys (the tenant's field names) stay clear, a value opens only under its own key. Values
    // already sealed are kept. Throws std::invalid_argument when `json_object` is not an object of strings.
    std::string SealObject(const std::string& subject, std::string_view column, std::string_view json_object);

  private:
    Db& db_;
    pqxx::transaction_base& tx_;
    std::string tenant_;
    std::map<std::string, std::string> keys_;  // subject -> data key, per transaction
};

// A row's data key, unwrapped once for all its sealed columns.
class ColumnKey {
  public:
    // `wrapped` is the row's CRM_SUBJECT_KEY_COLUMN.
    ColumnKey(std::string tenant, std::string subject, const pqxx::field& wrapped);
    // The clear value of `column`. A value that is not sealed (written before encryption at rest and not yet
    // backfilled) comes back as it is; a sealed value whose key is gone (an erased subject) opens as "". Throws
    // std::runtime_error when a value does not open with the key (altered, or copied from another row or column).
    std::string Open(std::string_view column, std::string_view stored) const;
    // The clear JSON object of a column that ColumnSealer::SealObject wrote (values open as Open does).
    std::string OpenObject(std::string_view column, std::string_view stored) const;

  private:
    std::string tenant_;
    std::string subject_;
    std::optional<std::string> key_;
};

// Destroys the data keys of these subjects (an erasure): their sealed columns, in the table and in every backup or
// dump, and their events' sealed fields no longer open. Returns how many keys there were.
std::int64_t ShredSubjects(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                           const std::vector<std::string>& subjects);

// A table's sealed personal columns, for the backfill of rows written before encryption at rest.
struct SealedTable {
    std::string table;             // e.g. "contacts"
    std::string id = "id";         // the row's id column (by default, its text is the subject of its data key)
    std::string id_type = "uuid";  // its SQL type
    // The SQL expression of the row's subject, whose data key seals it, when that is not the row itself: e.g.
    // "case_id::text" for a case's messages, sealed under the case's key as its events are. "" = the row's id.
    std::string subject;
    struct Column {
        std::string name;   // e.g. "email"; sealed for column "<table>.<name>"
        std::string index;  // its blind index column ("" = none), e.g. "email_index", of the stored (normalized) value
        bool object = false;  // a jsonb object of string values, sealed value by value (ColumnSealer::SealObject)
        // The column the values are sealed (and indexed) for, when not "<table>.<name>": a copy of another table's
        // sealed value, e.g. a message recipient's address copied from the audience row ("audience.email").
        std::string sealed_as;
    };
    std::vector<Column> columns;
    // The rows still to seal, as the table's partial index of them states it (so that the backfill's look-ups are
    // index-backed), e.g. "email <> '' AND email_index = ''". A sealed value starts with "pv1.".
    std::string unsealed;
};

// Seals the columns of every row that `table.unsealed` selects and fills their blind indexes, tenant by tenant in
// batches of 500 (each its own transaction, the rows locked, so that it runs beside writers and other replicas).
// The tenants come from a maintenance transaction (crm.maintenance = 'on'): the table needs the policy
// maintenance_select. Returns the rows sealed.
std::int64_t BackfillSealedColumns(Db& db, const SealedTable& table);
// The statement that reads one batch of a tenant's rows to seal ($1 = tenant), as BackfillSealedColumns runs it (for
// the services' EXPLAIN tests).
std::string SealedBatchQuery(const SealedTable& table);

}  // namespace crm::common
