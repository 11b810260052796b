#include "crm/common/audit.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>

#include "crm/common/crypto.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/rpc.hpp"

namespace crm::common {
namespace {

void Frame(std::string& out, const std::string& field) {
    out += std::to_string(field.size());
    out += ':';
    out += field;
}

void FrameAll(std::string& out, const std::vector<std::string>& fields) {
    std::string inner;
    for (const auto& f : fields) Frame(inner, f);
    Frame(out, inner);
}

}  // namespace

std::vector<std::string> AuditTextArray(const pqxx::field& f) {
    std::vector<std::string> out;
    auto parser = f.as_array();
    for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::juncture::done;
         std::tie(kind, value) = parser.get_next()) {
        if (kind == pqxx::array_parser::juncture::string_value) out.push_back(value);
    }
    return out;
}

namespace {

std::string Bytes(const pqxx::field& f) {
    const pqxx::binarystring b(f);
    return b.str();
}

int ChainOf(const std::string& request_id) {
    const std::string digest = Sha256(request_id);
    return static_cast<unsigned char>(digest[0]) % kAuditChains;
}

}  // namespace

std::vector<std::string> ChangedPaths(const google::protobuf::Message& event) {
    using google::protobuf::FieldDescriptor;
    const auto* desc = event.GetDescriptor();
    const auto* refl = event.GetReflection();
    std::vector<std::string> paths;
    if (const FieldDescriptor* f = desc->FindFieldByName("changed_paths");
        f != nullptr && f->is_repeated() && f->type() == FieldDescriptor::TYPE_STRING) {
        const int n = refl->FieldSize(event, f);
        for (int i = 0; i < n; ++i) paths.push_back(refl->GetRepeatedString(event, f, i));
        return paths;
    }
    std::vector<const FieldDescriptor*> set;
    refl->ListFields(event, &set);
    for (const FieldDescriptor* f : set) {
        if (f->type() != FieldDescriptor::TYPE_MESSAGE || f->is_repeated() ||
            f->message_type()->file()->package() == "google.protobuf") {
            continue;
        }
        const google::protobuf::Message& snapshot = refl->GetMessage(event, f);
        std::vector<const FieldDescriptor*> inner;
        snapshot.GetReflection()->ListFields(snapshot, &inner);
        for (const FieldDescriptor* g : inner) paths.push_back(g->name());
        return paths;
    }
    for (const FieldDescriptor* f : set) paths.push_back(f->name());
    return paths;
}

std::int64_t AppendAudit(pqxx::transaction_base& tx, const RequestContext& rc, const AuditRecord& record) {
    const auto now_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const pqxx::row r = tx.exec_params1(
        "SELECT crm_audit_append($1, $2::smallint, $3, $4, $5, $6::text[], $7, $8, $9, $10, $11, $12::text[])",
        rc.tenant_id, ChainOf(rc.request_id), static_cast<std::int64_t>(now_us), rc.user_id, rc.key_id,
        PgTextArray(rc.roles), rc.request_id, record.rpc, record.resource_type, record.resource_id, record.outcome,
        PgTextArray(record.changed_paths));
    return r[0].as<std::int64_t>();
}

std::string AuditRowHash(const AuditRow& row, const std::string& prev_hash) {
    std::string payload;
    Frame(payload, row.tenant_id);
    Frame(payload, std::to_string(row.chain));
    Frame(payload, std::to_string(row.seq));
    Frame(payload, std::to_string(row.occurred_us));
    Frame(payload, row.actor_user);
    Frame(payload, row.actor_key);
    FrameAll(payload, row.actor_roles);
    Frame(payload, row.request_id);
    Frame(payload, row.rpc);
    Frame(payload, row.resource_type);
    Frame(payload, row.resource_id);
    Frame(payload, row.outcome);
    FrameAll(payload, row.changed_paths);
    return Sha256(prev_hash + payload);
}

AuditChainCheck VerifyAuditRows(std::vector<AuditRow> rows) {
    std::sort(rows.begin(), rows.end(), [](const AuditRow& a, const AuditRow& b) {
        return a.chain != b.chain ? a.chain < b.chain : a.seq < b.seq;
    });
    AuditChainCheck check;
    const std::string zero(32, '\0');
    int chain = -1;
    std::int64_t expected_seq = 1;
    std::string prev = zero;
    for (const AuditRow& row : rows) {
        if (row.chain != chain) {
            chain = row.chain;
            expected_seq = 1;
            prev = zero;
        }
        auto fail = [&](std::string problem) {
            check.intact = false;
            check.chain = row.chain;
            check.seq = row.seq;
            check.problem = std::move(problem);
            return check;
        };
        const std::string where = "row " + std::to_string(row.seq) + " of chain " + std::to_string(row.chain);
        if (row.seq != expected_seq) {
            return fail("chain " + std::to_string(row.chain) + " skips from row " + std::to_string(expected_seq - 1) +
                        " to row " + std::to_string(row.seq) + " (rows removed)");
        }
        if (row.prev_hash != prev) return fail(where + " does not follow the row before it (a row was changed)");
        if (row.row_hash != AuditRowHash(row, prev)) return fail(where + " was altered");
        prev = row.row_hash;
        ++expected_seq;
        ++check.rows;
    }
    return check;
}

AuditChainCheck VerifyAuditChains(pqxx::transaction_base& tx, const std::string& tenant) {
    std::vector<AuditRow> rows;
    for (const auto& r : tx.exec_params(
             "SELECT chain, seq, occurred_us, actor_user, actor_key, actor_roles, request_id, rpc, resource_type, "
             "resource_id, outcome, changed_paths, prev_hash, row_hash FROM crm_audit WHERE tenant_id = $1 "
             "ORDER BY chain, seq",
             tenant)) {
        AuditRow row;
        row.tenant_id = tenant;
        row.chain = r[0].as<int>();
        row.seq = r[1].as<std::int64_t>();
        row.occurred_us = r[2].as<std::int64_t>();
        row.actor_user = r[3].as<std::string>();
        row.actor_key = r[4].as<std::string>();
        row.actor_roles = AuditTextArray(r[5]);
        row.request_id = r[6].as<std::string>();
        row.rpc = r[7].as<std::string>();
        row.resource_type = r[8].as<std::string>();
        row.resource_id = r[9].as<std::string>();
        row.outcome = r[10].as<std::string>();
        row.changed_paths = AuditTextArray(r[11]);
        row.prev_hash = Bytes(r[12]);
        row.row_hash = Bytes(r[13]);
        rows.push_back(std::move(row));
    }
    return VerifyAuditRows(std::move(rows));
}

}  // namespace crm::common
