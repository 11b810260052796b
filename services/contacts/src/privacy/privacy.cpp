#include "privacy/privacy.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "companies/companies.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/subject_data.hpp"
#include "crm/contacts/events/v1/events.pb.h"
#include "people/people.hpp"
#include "privacy/sql.hpp"

namespace crm::contacts::privacy {
namespace {

namespace ev1 = crm::contacts::events::v1;
using google::protobuf::util::TimeUtil;

nlohmann::json ProtoJson(const google::protobuf::Message& message) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
    if (!status.ok()) throw std::runtime_error("cannot render export JSON");
    return nlohmann::json::parse(json);
}

std::vector<std::string> IdsOf(const std::string& id, const std::vector<v1::Contact>& merged) {
    std::vector<std::string> ids = {id};
    for (const v1::Contact& contact : merged) ids.push_back(contact.id());
    return ids;
}

}  // namespace

v1::Contact UpdateConsent(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const std::string& id, v1::ConsentStatus status, const std::string& source) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const v1::Contact current = people::LoadContact(db, tx, tenant, id);
        people::RequireLive(current);
        const pqxx::result rows =
            db.Exec(tx, sql::kSetConsent, tenant, id, people::ConsentStatusText(status), source, current.version());
        v1::Contact updated = people::ReadContact(rows::RequireWritten(rows, "contact"));
        LogConsent(db, tx, rc, id, updated.email_consent());
        ev1::ContactConsentChanged event;
        *event.mutable_contact() = updated;
        event.set_previous_status(current.email_consent().status());
        people::AppendContactEvent(outbox, tx, rc, updated, event);
        return updated;
    });
}

void LogConsent(common::Db& db, pqxx::work& tx, const common::RequestContext& rc, const std::string& contact_id,
                const v1::EmailConsent& consent) {
    db.Exec(tx, sql::kInsertConsentLog, rc.tenant_id, contact_id, people::ConsentStatusText(consent.status()),
            consent.source(), rows::Micros(consent.change_time()), rc.request_id);
}

ContactExport ExportContact(common::Db& db, const common::RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        ContactExport data;
        data.contact = people::LoadContact(db, tx, tenant, id);
        data.merged_contacts = people::ReadContacts(db.Exec(tx, sql::kMergedInto, tenant, id));
        for (const auto& row :
             db.Exec(tx, sql::kConsentLog, tenant, rows::ArrayLiteral(IdsOf(id, data.merged_contacts)))) {
            data.consent_history.push_back({.contact_id = row[0].as<std::string>(),
                                            .status = people::ConsentStatusFromText(row[1].as<std::string>()),
                                            .source = row[2].as<std::string>(),
                                            .change_time = rows::ToTimestamp(row[3].as<std::int64_t>())});
        }
        if (!data.contact.company_id().empty()) {
            data.company = companies::FindCompany(db, tx, tenant, data.contact.company_id());
        }
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        data.export_time = rows::ToTimestamp(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
        return data;
    });
}

std::string ExportToJson(const ContactExport& data) {
    nlohmann::json doc;
    doc["contact"] = ProtoJson(data.contact);
    if (data.company) {
        doc["company"] = {{"id", data.company->id()}, {"name", data.company->name()}};
    } else {
        doc["company"] = nullptr;
    }
    doc["merged_contacts"] = nlohmann::json::array();
    for (const v1::Contact& merged : data.merged_contacts) doc["merged_contacts"].push_back(ProtoJson(merged));
    doc["consent_history"] = nlohmann::json::array();
    for (const ConsentChange& entry : data.consent_history) {
        doc["consent_history"].push_back({{"contact_id", entry.contact_id},
                                          {"status", v1::ConsentStatus_Name(entry.status)},
                                          {"source", entry.source},
                                          {"change_time", TimeUtil::ToString(entry.change_time)}});
    }
    doc["export_time"] = TimeUtil::ToString(data.export_time);
    return doc.dump(2);
}

v1::Contact EraseContact(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                         const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const v1::Contact current = people::LoadContact(db, tx, tenant, id);
        if (current.state() == v1::CONTACT_STATE_ERASED) return current;  // already a tombstone
        // The same person's data also lives in the contacts merged into this one: erase them too.
        const std::vector<v1::Contact> erased = EraseContactsIn(
            db, outbox, tx, rc, IdsOf(id, people::ReadContacts(db.Exec(tx, sql::kMergedInto, tenant, id))));
        v1::Contact tombstone = current;
        for (const v1::Contact& contact : erased) {
            if (contact.id() == id) tombstone = contact;
        }
        return tombstone;
    });
}

std::vector<v1::Contact> EraseContactsIn(common::Db& db, common::Outbox& outbox, pqxx::work& tx,
                                         const common::RequestContext& rc, const std::vector<std::string>& ids) {
    const std::string list = rows::ArrayLiteral(ids);
    std::vector<v1::Contact> erased = people::ReadContacts(db.Exec(tx, sql::kEraseContacts, rc.tenant_id, list));
    db.Exec(tx, sql::kDeleteConsentLog, rc.tenant_id, list);
    for (const v1::Contact& contact : erased) {
        ev1::ContactErased event;
        event.set_contact_id(contact.id());
        *event.mutable_erase_time() = contact.has_erase_time() ? contact.erase_time() : contact.update_time();
        people::AppendContactEvent(outbox, tx, rc, contact, event);
    }
    // The keys that sealed their columns and events: a copy of either (a backup, a topic) no longer opens.
    common::ShredSubjects(db, tx, rc.tenant_id, ids);
    return erased;
}

std::vector<common::SubjectHandler> SubjectHandlers() {
    common::SubjectHandler contacts;
    contacts.resource_type = "contact";
    // By id or e-mail, then the contacts merged into those and the ones they were merged into, to a fixed point.
    contacts.resolve = [](common::SubjectCall& call, common::Subject& subject) {
        const std::string& tenant = call.rc.tenant_id;
        const auto add = [&](const pqxx::result& rows) {
            bool grew = false;
            for (const auto& r : rows) {
                const std::string id = r[0].as<std::string>();
                grew |= common::AddUnique(subject.contact_ids, id);
                const common::ColumnKey key(tenant, id, r[3]);
                if (auto email = key.Open(people::kEmailColumn, r[1].c_str()); !email.empty()) {
                    common::AddUnique(subject.emails, std::move(email));
                }
                if (const auto into = r[2].as<std::string>(); !into.empty()) {
                    grew |= common::AddUnique(subject.contact_ids, into);
                }
            }
            return grew;
        };
        for (int round = 0; round < 10; ++round) {
            const common::SubjectParams p = common::ParamsOf(subject);
            std::vector<std::string> email_indexes;
            for (const std::string& email : subject.emails) email_indexes.push_back(people::EmailIndex(tenant, email));
            bool grew = add(call.db.Exec(call.tx, sql::kSubjectContacts, tenant, p.contact_ids,
                                         common::PgTextArray(email_indexes)));
            grew |= add(call.db.Exec(call.tx, sql::kSubjectMerged, tenant, common::ParamsOf(subject).contact_ids));
            if (!grew) break;
        }
    };
    contacts.export_records = [](common::SubjectCall& call, const common::Subject& subject) {
        const std::string& tenant = call.rc.tenant_id;
        const std::string ids = common::ParamsOf(subject).contact_ids;
        const std::vector<v1::Contact> found =
            people::ReadContacts(call.db.Exec(call.tx, sql::kSubjectExport, tenant, ids));
        std::map<std::string, nlohmann::json> history;
        for (const auto& row : call.db.Exec(call.tx, sql::kConsentLog, tenant, ids)) {
            history[row[0].as<std::string>()].push_back(
                {{"status", row[1].as<std::string>()},
                 {"source", row[2].as<std::string>()},
                 {"change_time", TimeUtil::ToString(rows::ToTimestamp(row[3].as<std::int64_t>()))}});
        }
        nlohmann::json out = nlohmann::json::array();
        for (const v1::Contact& c : found) {
            nlohmann::json entry;
            entry["contact"] = ProtoJson(c);
            entry["company"] = nullptr;
            if (!c.company_id().empty()) {
                if (auto company = companies::FindCompany(call.db, call.tx, tenant, c.company_id())) {
                    entry["company"] = {{"id", company->id()}, {"name", company->name()}};
                }
            }
            const auto it = history.find(c.id());
            entry["consent_history"] = it == history.end() ? nlohmann::json::array() : it->second;
            out.push_back(std::move(entry));
        }
        return common::SubjectExport{static_cast<std::int64_t>(found.size()), out.dump()};
    };
    contacts.erase = [](common::SubjectCall& call, const common::Subject& subject) {
        const auto erased = EraseContactsIn(call.db, call.outbox, call.tx, call.rc, subject.contact_ids);
        common::SubjectErasure out;
        out.count = static_cast<std::int64_t>(erased.size());
        for (const auto& c : erased) out.aggregate_ids.push_back(c.id());
        return out;
    };
    return {std::move(contacts)};
}

}  // namespace crm::contacts::privacy
