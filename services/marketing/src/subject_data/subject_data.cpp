#include "subject_data/subject_data.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "audience/audience.hpp"
#include "audience/sealed.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/subject_data.hpp"
#include "domain/suppression.hpp"
#include "segments/segments.hpp"
#include "sequences/sequences.hpp"
#include "subject_data/sql.hpp"

namespace crm::marketing::subject_data {
namespace {

using common::Subject;
using common::SubjectCall;

// The subject's audience ids (see subject_data.hpp), and with `given` their own contact and lead ids too (an erasure
// tombstones those even when marketing has not seen them yet).
std::vector<std::string> People(SubjectCall& call, const Subject& s, bool given = false) {
    std::vector<std::string> ids = s.contact_ids;
    for (const auto& id : s.lead_ids) common::AddUnique(ids, id);
    std::vector<std::string> out = given ? ids : std::vector<std::string>{};
    std::vector<std::string> indexes;
    for (const auto& email : s.emails) indexes.push_back(audience::sealed::EmailIndex(call.rc.tenant_id, email));
    for (const auto& row : call.db.Exec(call.tx, sql::kPeople, call.rc.tenant_id, common::PgTextArray(ids),
                                        common::PgTextArray(indexes))) {
        common::AddUnique(out, row[0].as<std::string>());
    }
    return out;
}

common::SubjectExport ExportOf(SubjectCall& call, const common::Sql& statement, const std::string& array) {
    if (array == "{}") return {.count = 0, .json = "[]"};  // nobody: nothing to read
    const pqxx::row row = call.db.Exec(call.tx, statement, call.rc.tenant_id, array).at(0);
    return {.count = row[1].as<std::int64_t>(), .json = row[0].as<std::string>()};
}

// Records whose statement returns one row each: the record's JSON with sealed values as stored, the person's id and
// wrapped data key. `fields` are opened in place ("custom" value by value).
common::SubjectExport ExportOpened(SubjectCall& call, const common::Sql& statement, const std::string& people,
                                   const std::vector<std::pair<const char*, const char*>>& fields) {
    if (people == "{}") return {.count = 0, .json = "[]"};
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : call.db.Exec(call.tx, statement, call.rc.tenant_id, people)) {
        nlohmann::json record = nlohmann::json::parse(row[0].c_str());
        const common::ColumnKey key(call.rc.tenant_id, row[1].as<std::string>(), row[2]);
        for (const auto& [field, column] : fields) {
            nlohmann::json& v = record[field];
            if (v.is_string()) v = key.Open(column, v.get<std::string>());
            if (v.is_object()) v = nlohmann::json::parse(key.OpenObject(column, v.dump()));
        }
        out.push_back(std::move(record));
    }
    return {.count = static_cast<std::int64_t>(out.size()), .json = out.dump()};
}

// The subject's addresses: theirs and their audience rows' (opened).
std::vector<std::string> Addresses(SubjectCall& call, const Subject& s) {
    std::vector<std::string> out = s.emails;
    const std::vector<std::string> people = People(call, s);
    if (people.empty()) return out;
    for (const auto& row : call.db.Exec(call.tx, sql::kAddresses, call.rc.tenant_id, common::PgTextArray(people))) {
        const common::ColumnKey key(call.rc.tenant_id, row[0].as<std::string>(), row[2]);
        const std::string email = key.Open(audience::sealed::kEmail, row[1].as<std::string>());
        if (!email.empty()) common::AddUnique(out, email);
    }
    return out;
}

template <class F>
common::SubjectErasure EachPerson(SubjectCall& call, const Subject& s, F&& erase_one) {
    common::SubjectErasure e;
    for (const auto& person : People(call, s, true)) e.count += erase_one(person);
    return e;
}

}  // namespace

std::vector<common::SubjectHandler> Handlers(std::shared_ptr<segments::Segments> segments, std::string internal_key) {
    std::vector<common::SubjectHandler> out;
    out.push_back({.resource_type = "engagement",
                   .resolve = nullptr,
                   .export_records =
                       [](SubjectCall& call, const Subject& s) {
                           return ExportOf(call, sql::kExportEngagements, common::PgTextArray(People(call, s)));
                       },
                   .erase =
                       [](SubjectCall& call, const Subject& s) {
                           return EachPerson(call, s, [&](const std::string& person) {
                               return audience::EraseEngagements(call.db, call.tx, call.rc.tenant_id, person);
                           });
                       }});
    out.push_back({.resource_type = "email_recipient",
                   .resolve = nullptr,
                   .export_records =
                       [](SubjectCall& call, const Subject& s) {
                           return ExportOpened(call, sql::kExportRecipients, common::PgTextArray(People(call, s)),
                                               {{"email", audience::sealed::kEmail}});
                       },
                   .erase =
                       [](SubjectCall& call, const Subject& s) {
                           return EachPerson(call, s, [&](const std::string& person) {
                               return audience::ForgetRecipients(call.db, call.tx, call.rc.tenant_id, person);
                           });
                       }});
    out.push_back(
        {.resource_type = "sequence_enrolment",
         .resolve = nullptr,
         .export_records =
             [](SubjectCall& call, const Subject& s) {
                 return ExportOf(call, sql::kExportEnrolments, common::PgTextArray(People(call, s)));
             },
         .erase =
             [](SubjectCall& call, const Subject& s) {
                 const std::vector<std::string> people = People(call, s, true);
                 common::SubjectErasure e;
                 if (people.empty()) return e;
                 e.count =
                     call.db.Exec(call.tx, sql::kCountEnrolments, call.rc.tenant_id, common::PgTextArray(people))[0][0]
                         .as<std::int64_t>();
                 for (const auto& person : people) {
                     sequences::ExitPerson(call.db, call.outbox, call.tx, call.rc.tenant_id, person, "erased");
                 }
                 return e;
             }});
    // A suppression holds the address's blind index (or, kept from before migration 0021 after an erasure, its keyed
    // hash), never the address: the export names the subject's address of each; an erasure leaves it, so that the
    // address stays unmailable (nothing personal is left to blank).
    out.push_back(
        {.resource_type = "suppression",
         .resolve = nullptr,
         .export_records =
             [internal_key](SubjectCall& call, const Subject& s) {
                 const domain::SuppressionHasher hash(internal_key, call.rc.tenant_id);
                 std::map<std::string, std::string> address_of;  // key -> address
                 for (const auto& email : Addresses(call, s)) {
                     address_of.emplace(audience::sealed::EmailIndex(call.rc.tenant_id, email), email);
                     address_of.emplace(hash(email), email);
                 }
                 std::vector<std::string> keys;
                 for (const auto& [key, email] : address_of) keys.push_back(key);
                 nlohmann::json out = nlohmann::json::array();
                 if (keys.empty()) return common::SubjectExport{.count = 0, .json = "[]"};
                 for (const auto& row :
                      call.db.Exec(call.tx, sql::kExportSuppressions, call.rc.tenant_id, common::PgTextArray(keys))) {
                     nlohmann::json record = nlohmann::json::parse(row[1].c_str());
                     record["email"] = address_of.at(row[0].as<std::string>());
                     out.push_back(std::move(record));
                 }
                 return common::SubjectExport{.count = static_cast<std::int64_t>(out.size()), .json = out.dump()};
             },
         .erase = [](SubjectCall&, const Subject&) { return common::SubjectErasure{}; }});
    out.push_back({.resource_type = "audience_member",
                   .resolve =
                       [](SubjectCall& call, Subject& s) {
                           const std::vector<std::string> people = People(call, s);
                           if (people.empty()) return;
                           for (const auto& row :
                                call.db.Exec(call.tx, sql::kLinked, call.rc.tenant_id, common::PgTextArray(people))) {
                               const std::string id = row[0].as<std::string>();
                               common::AddUnique(row[1].as<std::string>() == "lead" ? s.lead_ids : s.contact_ids, id);
                               const std::string contact = row[2].as<std::string>();
                               if (!contact.empty()) common::AddUnique(s.contact_ids, contact);
                               const common::ColumnKey key(call.rc.tenant_id, id, row[4]);
                               const std::string email = key.Open(audience::sealed::kEmail, row[3].as<std::string>());
                               if (!email.empty()) common::AddUnique(s.emails, email);
                           }
                       },
                   .export_records =
                       [](SubjectCall& call, const Subject& s) {
                           return ExportOpened(call, sql::kExportPeople, common::PgTextArray(People(call, s)),
                                               {{"email", audience::sealed::kEmail},
                                                {"given_name", audience::sealed::kGivenName},
                                                {"family_name", audience::sealed::kFamilyName},
                                                {"job_title", audience::sealed::kJobTitle},
                                                {"company_name", audience::sealed::kCompanyName},
                                                {"custom", audience::sealed::kCustom}});
                       },
                   .erase =
                       [segments](SubjectCall& call, const Subject& s) {
                           audience::Changes changes;
                           common::SubjectErasure e;
                           for (const auto& person : People(call, s, true)) {
                               e.count += audience::Erase(call.db, call.tx, call.rc.tenant_id, person, changes);
                           }
                           segments->Apply(call.tx, call.rc.tenant_id, changes);
                           return e;
                       }});
    return out;
}

}  // namespace crm::marketing::subject_data
