#include "subject_data/subject_data.hpp"

#include <pqxx/pqxx>

#include "crm/common/rpc.hpp"
#include "crm/common/subject_data.hpp"
#include "subject_data/sql.hpp"

namespace crm::analytics::subject_data {
namespace {

using common::Subject;
using common::SubjectCall;

// Which of the subject's ids a statement takes after the tenant.
enum class Ids { kContacts, kLeads, kContactsAndLeads };

pqxx::result Run(SubjectCall& call, const common::Sql& sql, const Subject& subject, Ids ids) {
    const common::SubjectParams p = common::ParamsOf(subject);
    switch (ids) {
        case Ids::kContacts:
            return call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids);
        case Ids::kLeads:
            return call.db.Exec(call.tx, sql, call.rc.tenant_id, p.lead_ids);
        default:
            return call.db.Exec(call.tx, sql, call.rc.tenant_id, p.contact_ids, p.lead_ids);
    }
}

common::SubjectHandler Handler(const char* type, const common::Sql& export_sql, Ids ids) {
    return {.resource_type = type,
            .resolve = nullptr,
            .export_records =
                [&export_sql, ids](SubjectCall& call, const Subject& subject) {
                    const pqxx::result r = Run(call, export_sql, subject, ids);
                    return common::SubjectExport{r[0][0].as<std::int64_t>(), r[0][1].as<std::string>()};
                },
            // No personal field in the facts (subject_data.hpp): nothing to blank, no event of analytics' to purge.
            .erase = [](SubjectCall&, const Subject&) { return common::SubjectErasure{}; }};
}

}  // namespace

std::vector<common::SubjectHandler> Handlers() {
    return {Handler("contact_fact", sql::kExportContacts, Ids::kContacts),
            Handler("lead_fact", sql::kExportLeads, Ids::kLeads),
            Handler("opportunity_fact", sql::kExportOpportunities, Ids::kLeads),
            Handler("campaign_touch", sql::kExportTouches, Ids::kContactsAndLeads),
            Handler("campaign_attribution", sql::kExportAttributions, Ids::kLeads)};
}

}  // namespace crm::analytics::subject_data
