#include "subject_data/subject_data.hpp"

#include <nlohmann/json.hpp>

#include "conversation/conversation.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/subject_data.hpp"
#include "csat/csat.hpp"
#include "sealed.hpp"
#include "subject_data/sql.hpp"

namespace crm::support::subject_data {
namespace {

// Every statement: $1 the tenant, $2 the contact ids, $3 the blind indexes of the e-mails (the addresses cases were
// opened from are sealed; the look-up goes through their index, migration 0104).
pqxx::result Run(common::SubjectCall& call, const common::Sql& statement, const common::Subject& subject) {
    const common::SubjectParams p = common::ParamsOf(subject);
    std::vector<std::string> indexes;
    for (const auto& email : subject.emails) {
        if (!email.empty()) indexes.push_back(sealed::CustomerEmailIndex(call.rc.tenant_id, email));
    }
    return call.db.Exec(call.tx, statement, call.rc.tenant_id, p.contact_ids, common::PgTextArray(indexes));
}

// A sealed JSON column opened and parsed back into JSON ("" when empty or its key is gone: `empty`).
nlohmann::json OpenJson(const common::ColumnKey& key, const char* column, const nlohmann::json& stored,
                        nlohmann::json empty) {
    const std::string clear = stored.is_string() ? key.Open(column, stored.get<std::string>()) : std::string();
    return clear.empty() ? empty : nlohmann::json::parse(clear);
}

// The records (rows of JSON object, case id, case key) with their sealed values opened: what the person is owed is
// the clear values, not the sealed bytes.
common::SubjectExport ExportOf(common::SubjectCall& call, const common::Sql& statement,
                               const common::Subject& subject) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : Run(call, statement, subject)) {
        const common::ColumnKey key(call.rc.tenant_id, row[1].as<std::string>(), row[2]);
        nlohmann::json record = nlohmann::json::parse(row[0].as<std::string>());
        const auto open = [&](const char* name, const char* column) {
            if (record.contains(name) && record[name].is_string()) {
                record[name] = key.Open(column, record[name].get<std::string>());
            }
        };
        if (&statement == &sql::kExportCases) {
            open("subject", sealed::kSubject);
            open("description", sealed::kDescription);
            open("customer_email", sealed::kCustomerEmail);
            record["custom_fields"] =
                OpenJson(key, sealed::kCustomFields, record["custom_fields"], nlohmann::json::object());
            for (auto& note : record["routing_notes"]) note = key.Open(sealed::kNote, note.get<std::string>());
        } else if (&statement == &sql::kExportMessages) {
            open("author_name", sealed::kAuthorName);
            open("body", sealed::kBody);
            record["attachments"] = OpenJson(key, sealed::kAttachments, record["attachments"], nlohmann::json::array());
            record["phone_call"] = OpenJson(key, sealed::kPhoneCall, record["phone_call"], nullptr);
        } else {
            open("comment", sealed::kComment);
        }
        out.push_back(std::move(record));
    }
    return {.count = static_cast<std::int64_t>(out.size()), .json = out.dump()};
}

std::int64_t Changed(common::SubjectCall& call, const common::Sql& statement, const common::Subject& subject) {
    return static_cast<std::int64_t>(Run(call, statement, subject).affected_rows());
}

std::vector<std::string> CaseIds(common::SubjectCall& call, const common::Subject& subject) {
    std::vector<std::string> ids;
    for (const auto& row : Run(call, sql::kCaseIds, subject)) ids.push_back(row[0].as<std::string>());
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
                           for (const auto& row : Run(call, sql::kLinked, s)) {
                               const std::string contact = row[0].as<std::string>();
                               const std::string email =
                                   common::ColumnKey(call.rc.tenant_id, row[2].as<std::string>(), row[3])
                                       .Open(sealed::kCustomerEmail, row[1].c_str());
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
                           e.count = static_cast<std::int64_t>(Run(call, sql::kEraseCases, s).size());
                           return e;
                       }});
    return out;
}

}  // namespace crm::support::subject_data
