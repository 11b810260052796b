#include "subject_data/subject_data.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "crm/common/pg_array.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/subject_data.hpp"
#include "lifecycle/lifecycle.hpp"
#include "lifecycle/sealed.hpp"
#include "subject_data/sql.hpp"

namespace crm::leads::subject_data {
namespace {

using common::Subject;
using common::SubjectCall;

// $4 of every statement: the blind indexes of the subject's e-mails (leads looks e-mails up by their index only).
pqxx::result Run(SubjectCall& call, const common::Sql& sql, const Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    std::vector<std::string> email_indexes;
    for (const auto& email : subject.emails) {
        if (!email.empty()) email_indexes.push_back(lifecycle::EmailIndex(call.rc.tenant_id, email));
    }
    return call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids, p.lead_ids, common::PgTextArray(email_indexes));
}

// Their engagements, each detail opened with its lead's key.
common::SubjectExport ExportEngagements(SubjectCall& call, const Subject& subject) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : Run(call, sql::kExportEngagements, subject)) {
        nlohmann::json engagement = nlohmann::json::parse(row[1].as<std::string>());
        if (engagement.contains("detail") && engagement["detail"].is_string()) {
            engagement["detail"] =
                common::ColumnKey(call.rc.tenant_id, row[0].as<std::string>(), row[2])
                    .Open(lifecycle::sealed::kEngagementDetail, engagement["detail"].get<std::string>());
        }
        out.push_back(std::move(engagement));
    }
    return {static_cast<std::int64_t>(out.size()), out.dump()};
}

// The subject's leads, every column opened (what the person is owed is the clear values, not the sealed bytes).
common::SubjectExport ExportLeads(SubjectCall& call, const Subject& subject) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : Run(call, sql::kExportLeads, subject)) {
        const common::ColumnKey key(call.rc.tenant_id, row[0].as<std::string>(), row[2]);
        nlohmann::json lead = nlohmann::json::parse(row[1].as<std::string>());
        for (const char* column : lifecycle::sealed::kColumns) {
            const std::string name = std::string(column).substr(std::string("leads.").size());
            if (lead.contains(name) && lead[name].is_string()) {
                lead[name] = key.Open(column, lead[name].get<std::string>());
            }
        }
        if (lead.contains("attributes") && lead["attributes"].is_object()) {
            lead["attributes"] =
                nlohmann::json::parse(key.OpenObject(lifecycle::sealed::kAttributes, lead["attributes"].dump()));
        }
        out.push_back(std::move(lead));
    }
    return {static_cast<std::int64_t>(out.size()), out.dump()};
}

void Resolve(SubjectCall& call, Subject& subject) {
    for (const auto& row : Run(call, sql::kResolve, subject)) {
        const std::string id = row[0].as<std::string>();
        common::AddUnique(subject.lead_ids, id);
        std::string email =
            common::ColumnKey(call.rc.tenant_id, id, row[3]).Open(lifecycle::sealed::kEmail, row[1].c_str());
        std::transform(email.begin(), email.end(), email.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (!email.empty()) common::AddUnique(subject.emails, email);
        if (const auto contact = row[2].as<std::string>(); !contact.empty()) {
            common::AddUnique(subject.contact_ids, contact);
        }
    }
}

// Engagement events are events of their lead (aggregate: the lead id).
common::SubjectErasure EraseEngagements(SubjectCall& call, const Subject& subject) {
    common::SubjectErasure out;
    for (const auto& row : Run(call, sql::kEraseEngagements, subject)) {
        ++out.count;
        common::AddUnique(out.aggregate_ids, row[0].as<std::string>());
    }
    return out;
}

// Every matched lead's relayed events are purged, also when a repeated erasure finds nothing left to blank.
common::SubjectErasure EraseLeads(SubjectCall& call, const Subject& subject) {
    common::SubjectErasure out;
    for (const auto& row : Run(call, sql::kEraseLeads, subject)) {
        if (row[1].as<bool>()) ++out.count;
        common::AddUnique(out.aggregate_ids, row[0].as<std::string>());
    }
    return out;
}

}  // namespace

std::vector<common::SubjectHandler> Handlers() {
    return {{.resource_type = "lead_engagement",
             .resolve = nullptr,
             .export_records = ExportEngagements,
             .erase = EraseEngagements},
            {.resource_type = "lead", .resolve = Resolve, .export_records = ExportLeads, .erase = EraseLeads}};
}

}  // namespace crm::leads::subject_data
