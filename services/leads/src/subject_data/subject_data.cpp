#include "subject_data/subject_data.hpp"

#include <pqxx/pqxx>

#include "crm/common/rpc.hpp"
#include "crm/common/subject_data.hpp"
#include "subject_data/sql.hpp"

namespace crm::leads::subject_data {
namespace {

using common::Subject;
using common::SubjectCall;

pqxx::result Run(SubjectCall& call, const common::Sql& sql, const Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    return call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids, p.lead_ids, p.emails);
}

common::SubjectExport Export(SubjectCall& call, const common::Sql& sql, const Subject& subject) {
    const pqxx::result r = Run(call, sql, subject);
    return {r[0][0].as<std::int64_t>(), r[0][1].as<std::string>()};
}

void Resolve(SubjectCall& call, Subject& subject) {
    for (const auto& row : Run(call, sql::kResolve, subject)) {
        common::AddUnique(subject.lead_ids, row[0].as<std::string>());
        if (const auto email = row[1].as<std::string>(); !email.empty()) common::AddUnique(subject.emails, email);
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
             .export_records = [](SubjectCall& c, const Subject& s) { return Export(c, sql::kExportEngagements, s); },
             .erase = EraseEngagements},
            {.resource_type = "lead",
             .resolve = Resolve,
             .export_records = [](SubjectCall& c, const Subject& s) { return Export(c, sql::kExportLeads, s); },
             .erase = EraseLeads}};
}

}  // namespace crm::leads::subject_data
