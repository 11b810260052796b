#include "crm/common/sealed_columns.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "crm/common/field_crypto.hpp"
#include "crm/common/personal_fields.hpp"
#include "crm/common/pg_array.hpp"
#include "subject_keys.hpp"

namespace crm::common {
namespace {

int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error("a wrapped subject key column is not hex");
}

privacy::WrappedKey ParseWrapped(std::string_view text) {
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || (text.size() - colon - 1) % 2 != 0) {
        throw std::runtime_error("a wrapped subject key column is malformed");
    }
    privacy::WrappedKey wrapped;
    wrapped.kek_version = std::stoi(std::string(text.substr(0, colon)));
    for (std::size_t i = colon + 1; i < text.size(); i += 2) {
        wrapped.bytes.push_back(static_cast<char>(HexDigit(text[i]) * 16 + HexDigit(text[i + 1])));
    }
    return wrapped;
}

}  // namespace

std::string ColumnIndex(std::string_view tenant, std::string_view column, std::string_view normalized) {
    return privacy::BlindIndex(privacy::ProcessKeyring(), tenant, column, normalized);
}

std::int64_t ShredSubjects(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                           const std::vector<std::string>& subjects) {
    return DestroySubjectKeys(db, tx, tenant, subjects);
}

ColumnSealer::ColumnSealer(Db& db, pqxx::transaction_base& tx, std::string tenant)
    : db_(db), tx_(tx), tenant_(std::move(tenant)) {}

void ColumnSealer::Prepare(const std::vector<std::string>& subjects) {
    std::vector<std::string> missing;
    for (const auto& s : subjects) {
        if (keys_.count(s) == 0 && std::find(missing.begin(), missing.end(), s) == missing.end()) missing.push_back(s);
    }
    if (missing.empty()) return;
    for (auto& [subject, key] : SubjectDataKeys(db_, tx_, tenant_, missing)) keys_[subject] = std::move(key);
}

std::string ColumnSealer::Seal(const std::string& subject, std::string_view column, std::string_view value) {
    if (value.empty()) return {};
    auto it = keys_.find(subject);
    if (it == keys_.end()) it = keys_.emplace(subject, SubjectDataKey(db_, tx_, tenant_, subject)).first;
    return privacy::Seal(it->second, {tenant_, subject, column}, value);
}

std::string ColumnSealer::SealObject(const std::string& subject, std::string_view column,
                                     std::string_view json_object) {
    nlohmann::json object = nlohmann::json::parse(json_object, nullptr, false);
    if (!object.is_object()) throw std::invalid_argument(std::string(column) + " is not a JSON object");
    for (auto& [key, value] : object.items()) {
        if (!value.is_string()) throw std::invalid_argument(std::string(column) + "." + key + " is not a string");
        const std::string text = value.get<std::string>();
        if (!privacy::IsSealed(text)) value = Seal(subject, std::string(column) + "." + key, text);
    }
    return object.dump();
}

ColumnKey::ColumnKey(std::string tenant, std::string subject, const pqxx::field& wrapped)
    : tenant_(std::move(tenant)), subject_(std::move(subject)) {
    if (wrapped.is_null()) return;
    key_ = privacy::UnwrapDataKey(privacy::ProcessKeyring(), tenant_, subject_, ParseWrapped(wrapped.c_str()));
}

std::string ColumnKey::Open(std::string_view column, std::string_view stored) const {
    if (!privacy::IsSealed(stored)) return std::string(stored);
    if (!key_) return {};
    try {
        return privacy::Open(*key_, {tenant_, subject_, column}, stored);
    } catch (const privacy::SealError&) {
        throw std::runtime_error("a sealed " + std::string(column) + " value of subject " + subject_ +
                                 " does not open with its key (altered, or copied from another row)");
    }
}

std::string ColumnKey::OpenObject(std::string_view column, std::string_view stored) const {
    nlohmann::json object = nlohmann::json::parse(stored, nullptr, false);
    if (!object.is_object())
        throw std::runtime_error(std::string(column) + " of subject " + subject_ + " is not a JSON object");
    for (auto& [key, value] : object.items()) {
        if (value.is_string()) value = Open(std::string(column) + "." + key, value.get<std::string>());
    }
    return object.dump();
}

std::string SealedBatchQuery(const SealedTable& t) {
    std::string sql = "SELECT " + t.id + "::text, " + (t.subject.empty() ? t.id + "::text" : t.subject);
    for (const auto& c : t.columns) sql += ", " + c.name + (c.object ? "::text" : "");
    return sql + " FROM " + t.table + " WHERE tenant_id = $1 AND (" + t.unsealed + ") LIMIT 500 FOR UPDATE";
}

std::int64_t BackfillSealedColumns(Db& db, const SealedTable& t) {
    const std::string tenants_sql =
        "SELECT DISTINCT tenant_id FROM " + t.table + " WHERE " + t.unsealed + " LIMIT 1000";
    // One statement per batch: the rows' new values come as parallel text[] parameters ($2 ids, then per column its
    // values and, for an indexed column, its indexes). '-' (never an index: those are hex or "") keeps the index of a
    // value that was already sealed.
    const std::string select_sql = SealedBatchQuery(t);
    std::string update_sql = "UPDATE " + t.table + " AS t SET ";
    std::string arrays = "$2::text[]", names = "id";
    int param = 3;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
        const auto& c = t.columns[i];
        const std::string v = "v" + std::to_string(i), x = "x" + std::to_string(i);
        update_sql += (i > 0 ? ", " : "") + c.name + " = u." + v + (c.object ? "::jsonb" : "");
        arrays += ", $" + std::to_string(param++) + "::text[]";
        names += ", " + v;
        if (c.index.empty()) continue;
        update_sql += ", " + c.index + " = CASE WHEN u." + x + " = '-' THEN t." + c.index + " ELSE u." + x + " END";
        arrays += ", $" + std::to_string(param++) + "::text[]";
        names += ", " + x;
    }
    update_sql += " FROM unnest(" + arrays + ") AS u(" + names + ") WHERE t.tenant_id = $1 AND t." + t.id +
                  " = u.id::" + t.id_type;
    // One table may have two backfills (different columns, different partial indexes): the first column names it.
    const std::string name = "sealed_columns_backfill_" + t.table + "_" + t.columns.front().name;
    const Sql tenants{name.c_str(), tenants_sql.c_str()};
    const Sql select{name.c_str(), select_sql.c_str()};
    const Sql update{name.c_str(), update_sql.c_str()};
    std::int64_t total = 0;
    for (;;) {
        const std::vector<std::string> found = db.InTenant(std::string(), [&](pqxx::work& tx) {
            db.Exec(tx, Sql{name.c_str(), "SELECT set_config('crm.maintenance', 'on', true)"});
            std::vector<std::string> out;
            for (const auto& row : db.Exec(tx, tenants)) out.push_back(row[0].c_str());
            return out;
        });
        if (found.empty()) return total;
        for (const std::string& tenant : found) {
            for (;;) {
                const std::int64_t n = db.InTenant(tenant, [&](pqxx::work& tx) {
                    const pqxx::result rows = db.Exec(tx, select, tenant);
                    if (rows.empty()) return std::int64_t{0};
                    std::vector<std::string> ids, subjects;
                    for (const auto& row : rows) {
                        ids.push_back(row[0].c_str());
                        subjects.push_back(row[1].c_str());
                    }
                    ColumnSealer sealer(db, tx, tenant);
                    sealer.Prepare(subjects);
                    std::vector<std::vector<std::string>> columns(1, ids);
                    for (std::size_t i = 0; i < t.columns.size(); ++i) {
                        const std::string column =
                            t.columns[i].sealed_as.empty() ? t.table + "." + t.columns[i].name : t.columns[i].sealed_as;
                        std::vector<std::string> values, indexes;
                        for (std::size_t r = 0; r < rows.size(); ++r) {
                            const std::string stored = rows[static_cast<int>(r)][static_cast<int>(i) + 2].c_str();
                            if (t.columns[i].object) {  // value by value; no index
                                values.push_back(sealer.SealObject(subjects[r], column, stored));
                                continue;
                            }
                            const bool sealed = privacy::IsSealed(stored);
                            values.push_back(sealed ? stored : sealer.Seal(subjects[r], column, stored));
                            indexes.push_back(sealed ? std::string("-") : ColumnIndex(tenant, column, stored));
                        }
                        columns.push_back(std::move(values));
                        if (!t.columns[i].index.empty()) columns.push_back(std::move(indexes));
                    }
                    std::vector<std::string> params{tenant};
                    for (const auto& c : columns) params.push_back(PgTextArray(c));
                    db.Exec(tx, update, pqxx::prepare::make_dynamic_params(params));
                    return static_cast<std::int64_t>(rows.size());
                });
                total += n;
                if (n < 500) break;
            }
        }
    }
}

}  // namespace crm::common
