#include "subject_data/subject_data.hpp"

#include "audience/audience.hpp"
#include "crm/common/pg_array.hpp"
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
    for (const auto& row : call.db.Exec(call.tx, sql::kPeople, call.rc.tenant_id, common::PgTextArray(ids),
                                        common::PgTextArray(s.emails))) {
        common::AddUnique(out, row[0].as<std::string>());
    }
    return out;
}

common::SubjectExport ExportOf(SubjectCall& call, const common::Sql& statement, const std::string& array) {
    if (array == "{}") return {.count = 0, .json = "[]"};  // nobody: nothing to read
    const pqxx::row row = call.db.Exec(call.tx, statement, call.rc.tenant_id, array).at(0);
    return {.count = row[1].as<std::int64_t>(), .json = row[0].as<std::string>()};
}

// The subject's addresses: theirs and their audience rows'.
std::vector<std::string> Addresses(SubjectCall& call, const Subject& s) {
    std::vector<std::string> out = s.emails;
    const std::vector<std::string> people = People(call, s);
    if (people.empty()) return out;
    for (const auto& row : call.db.Exec(call.tx, sql::kAddresses, call.rc.tenant_id, common::PgTextArray(people))) {
        common::AddUnique(out, row[0].as<std::string>());
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
                           return ExportOf(call, sql::kExportRecipients, common::PgTextArray(People(call, s)));
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
    out.push_back({.resource_type = "suppression",
                   .resolve = nullptr,
                   .export_records =
                       [internal_key](SubjectCall& call, const Subject& s) {
                           const domain::SuppressionHasher hash(internal_key, call.rc.tenant_id);
                           std::vector<std::string> keys = Addresses(call, s);
                           const std::size_t n = keys.size();
                           for (std::size_t i = 0; i < n; ++i) keys.push_back(hash(keys[i]));
                           return ExportOf(call, sql::kExportSuppressions, common::PgTextArray(keys));
                       },
                   .erase =
                       [internal_key](SubjectCall& call, const Subject& s) {
                           common::SubjectErasure e;
                           for (const auto& email : Addresses(call, s)) {
                               e.count +=
                                   audience::HashSuppression(call.db, call.tx, call.rc.tenant_id, email, internal_key);
                           }
                           return e;
                       }});
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
                               const std::string email = row[3].as<std::string>();
                               if (!email.empty()) common::AddUnique(s.emails, email);
                           }
                       },
                   .export_records =
                       [](SubjectCall& call, const Subject& s) {
                           return ExportOf(call, sql::kExportPeople, common::PgTextArray(People(call, s)));
                       },
                   .erase =
                       [segments, internal_key](SubjectCall& call, const Subject& s) {
                           audience::Changes changes;
                           common::SubjectErasure e;
                           for (const auto& person : People(call, s, true)) {
                               e.count +=
                                   audience::Erase(call.db, call.tx, call.rc.tenant_id, person, changes, internal_key);
                           }
                           segments->Apply(call.tx, call.rc.tenant_id, changes);
                           return e;
                       }});
    return out;
}

}  // namespace crm::marketing::subject_data
