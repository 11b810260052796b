#include "subject_data/subject_data.hpp"

#include <pqxx/pqxx>

#include "crm/common/rpc.hpp"
#include "crm/common/subject_data.hpp"
#include "subject_data/sql.hpp"

namespace crm::sales::subject_data {
namespace {

using common::Subject;
using common::SubjectCall;

common::SubjectExport Export(SubjectCall& call, const common::Sql& sql, const Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    const pqxx::result r = call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids, p.lead_ids);
    return {r[0][0].as<std::int64_t>(), r[0][1].as<std::string>()};
}

// Every matched record is named for the outbox purge (its events are its own: aggregate = its id), also when a
// repeated erasure finds nothing left to blank; the count is of the records changed.
common::SubjectErasure Erase(SubjectCall& call, const common::Sql& sql, const Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    common::SubjectErasure out;
    for (const auto& row :
         call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids, p.lead_ids, std::string(sql::kErasedMarker))) {
        if (row[1].as<bool>()) ++out.count;
        common::AddUnique(out.aggregate_ids, row[0].as<std::string>());
    }
    return out;
}

common::SubjectHandler Handler(const char* type, const common::Sql& export_sql, const common::Sql& erase_sql) {
    return {.resource_type = type,
            .resolve = nullptr,
            .export_records = [&export_sql](SubjectCall& c, const Subject& s) { return Export(c, export_sql, s); },
            .erase = [&erase_sql](SubjectCall& c, const Subject& s) { return Erase(c, erase_sql, s); }};
}

}  // namespace

std::vector<common::SubjectHandler> Handlers() {
    return {Handler("opportunity", sql::kExportOpportunities, sql::kEraseOpportunities),
            Handler("activity", sql::kExportActivities, sql::kEraseActivities),
            Handler("quote", sql::kExportQuotes, sql::kEraseQuotes)};
}

}  // namespace crm::sales::subject_data
