#include "subject_data/subject_data.hpp"

#include "conversation/conversation.hpp"
#include "crm/common/subject_data.hpp"
#include "csat/csat.hpp"
#include "subject_data/sql.hpp"

namespace crm::support::subject_data {
namespace {

common::SubjectExport ExportOf(common::SubjectCall& call, const common::Sql& statement,
                               const common::Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    const pqxx::row row = call.db.Exec(call.tx, statement, call.rc.tenant_id, p.contact_ids, p.emails).at(0);
    return {.count = row[1].as<std::int64_t>(), .json = row[0].as<std::string>()};
}

std::int64_t Changed(common::SubjectCall& call, const common::Sql& statement, const common::Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    return static_cast<std::int64_t>(
        call.db.Exec(call.tx, statement, call.rc.tenant_id, p.contact_ids, p.emails).affected_rows());
}

std::vector<std::string> CaseIds(common::SubjectCall& call, const common::Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    std::vector<std::string> ids;
    for (const auto& row : call.db.Exec(call.tx, sql::kCaseIds, call.rc.tenant_id, p.contact_ids, p.emails)) {
        ids.push_back(row[0].as<std::string>());
    }
    return ids;
}

}  // namespace

std::vector<common::SubjectHandler> Handlers() {
    std::vector<common::SubjectHandler> out;
    out.push_back({.resource_type = "case_message",
                   .resolve = nullptr,
                   .export_records = [](common::SubjectCall& call,
                                        const common::Subject& s) { return ExportOf(call, sql::kExportMessages, s); },
                   .erase =
                       [](common::SubjectCall& call, const common::Subject& s) {
                           common::SubjectErasure e;
                           for (const auto& contact : s.contact_ids) {
                               e.count += conversation::EraseAuthor(call.db, call.tx, call.rc.tenant_id, contact);
                           }
                           e.count += Changed(call, sql::kEraseMessages, s);
                           e.aggregate_ids = CaseIds(call, s);
                           return e;
                       }});
    out.push_back({.resource_type = "csat_survey",
                   .resolve = nullptr,
                   .export_records = [](common::SubjectCall& call,
                                        const common::Subject& s) { return ExportOf(call, sql::kExportSurveys, s); },
                   .erase =
                       [](common::SubjectCall& call, const common::Subject& s) {
                           common::SubjectErasure e;
                           for (const auto& contact : s.contact_ids) {
                               e.count += csat::EraseComments(call.db, call.tx, call.rc.tenant_id, contact);
                           }
                           e.count += Changed(call, sql::kEraseSurveyComments, s);
                           return e;
                       }});
    out.push_back({.resource_type = "case",
                   .resolve =
                       [](common::SubjectCall& call, common::Subject& s) {
                           const common::SubjectParams p = common::ParamsOf(s);
                           for (const auto& row :
                                call.db.Exec(call.tx, sql::kLinked, call.rc.tenant_id, p.contact_ids, p.emails)) {
                               const std::string contact = row[0].as<std::string>();
                               const std::string email = row[1].as<std::string>();
                               if (!contact.empty()) common::AddUnique(s.contact_ids, contact);
                               if (!email.empty()) common::AddUnique(s.emails, email);
                           }
                       },
                   .export_records = [](common::SubjectCall& call,
                                        const common::Subject& s) { return ExportOf(call, sql::kExportCases, s); },
                   .erase =
                       [](common::SubjectCall& call, const common::Subject& s) {
                           common::SubjectErasure e;
                           e.aggregate_ids = CaseIds(call, s);
                           Changed(call, sql::kEraseRoutingNotes, s);
                           e.count = static_cast<std::int64_t>(call.db
                                                                   .Exec(call.tx, sql::kEraseCases, call.rc.tenant_id,
                                                                         common::ParamsOf(s).contact_ids,
                                                                         common::ParamsOf(s).emails)
                                                                   .size());
                           return e;
                       }});
    return out;
}

}  // namespace crm::support::subject_data
