// Repository: contacts (create, read, list, search, update, delete, duplicates, merge, consent, export, erasure).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/contacts/events/v1/events.pb.h"
#include "domain/merge.hpp"
#include "domain/update_mask.hpp"
#include "mapping/proto_mapping.hpp"
#include "storage/repository.hpp"
#include "storage/rows.hpp"
#include "storage/sql.hpp"
#include "support/violations.hpp"

namespace crm::contacts::storage {
namespace {

namespace ev1 = crm::contacts::events::v1;
using common::ApiError;

constexpr char kAggregate[] = "contact";

domain::Contact LoadContact(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetContact, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("contact", id);
    return ReadContact(rows[0]);
}

std::vector<domain::Contact> ReadContacts(const pqxx::result& rows) {
    std::vector<domain::Contact> contacts;
    contacts.reserve(rows.size());
    for (const auto& row : rows) contacts.push_back(ReadContact(row));
    return contacts;
}

void RequireLive(const domain::Contact& contact) {
    if (!contact.IsLive()) {
        throw ApiError::FailedPrecondition("contact " + contact.id + " is not active (merged, erased or deleted)",
                                           "CONTACT_NOT_ACTIVE");
    }
}

// A contact referenced by company_id must be a live company of the tenant.
void CheckCompany(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& company_id,
                  const std::string& field) {
    if (company_id.empty()) return;
    const pqxx::result rows = db.Exec(tx, sql::kGetCompany, tenant, company_id);
    if (rows.empty()) throw ApiError::InvalidArgument(field, "no company with this id");
    if (!rows[0][9].is_null()) throw ApiError::InvalidArgument(field, "the company is deleted");
}

domain::DuplicateProbe ProbeOf(const domain::ContactFields& fields) {
    return {.email = fields.email,
            .phone = fields.phone,
            .name = domain::NormalizeFullName(fields.given_name, fields.family_name),
            .company_id = fields.company_id};
}

// Optimistic write of every writable column from `fields` and `consent`; ABORTED when the row moved on.
domain::Contact WriteContact(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                             const domain::ContactFields& f, const domain::EmailConsent& consent,
                             std::int64_t expected_version) {
    const bool consent_known = consent.status != domain::ConsentStatus::kUnknown;
    const std::string consent_micros = std::to_string(Micros(consent.change_time));
    const pqxx::result rows =
        db.Exec(tx, sql::kWriteContact, tenant, id, f.given_name, f.family_name, f.email, f.phone, f.job_title,
                common::NullIfEmpty(f.company_id), f.owner_id, JsonArray(f.tags), JsonObject(f.custom_fields),
                domain::NormalizeName(f.given_name), domain::NormalizeName(f.family_name),
                domain::NormalizeFullName(f.given_name, f.family_name), ConsentText(consent.status),
                consent_known ? consent_micros.c_str() : nullptr, consent.source, expected_version);
    return ReadContact(RequireWritten(rows, "contact"));
}

std::vector<domain::DuplicateMatch> FindDuplicatesIn(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                                     const domain::DuplicateProbe& probe, const std::string& exclude_id,
                                                     int limit) {
    if (probe.email.empty() && probe.phone.empty() && probe.name.empty()) return {};
    const pqxx::result rows = db.Exec(tx, sql::kDuplicateCandidates, tenant, probe.email, probe.phone, probe.name,
                                      common::NullIfEmpty(exclude_id));
    std::vector<domain::DuplicateMatch> matches;
    for (const auto& row : rows) {
        domain::Contact candidate = ReadContact(row);
        const double similarity = row[20].as<double>();
        domain::DuplicateScore score = domain::ScoreDuplicate(probe, ProbeOf(candidate.fields), similarity);
        if (score.IsPossibleDuplicate()) matches.push_back({std::move(candidate), std::move(score)});
    }
    std::stable_sort(matches.begin(), matches.end(), [](const auto& a, const auto& b) {
        if (a.score.score != b.score.score) return a.score.score > b.score.score;
        return std::tie(a.contact.create_time, a.contact.id) < std::tie(b.contact.create_time, b.contact.id);
    });
    if (static_cast<int>(matches.size()) > limit) matches.resize(static_cast<std::size_t>(limit));
    return matches;
}

void AppendEvent(common::Outbox& outbox, pqxx::work& tx, const common::RequestContext& rc,
                 const domain::Contact& contact, const google::protobuf::Message& payload) {
    outbox.Append(tx, rc, common::NewEvent{kAggregate, contact.id, contact.version, payload});
}

std::string Scope(const nlohmann::json& parts) { return parts.dump(); }

}  // namespace

Repository::Repository(common::Db& db, common::Outbox& outbox, domain::NormalizeSettings settings)
    : db_(db), outbox_(outbox), settings_(std::move(settings)) {}

CreateContactResult Repository::CreateContact(const common::RequestContext& rc, const domain::ContactFields& f,
                                              const std::string& request_id, bool allow_duplicate) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, tenant, "CreateContact", request_id, id)) {
            return CreateContactResult{.contact = LoadContact(db_, tx, tenant, *first), .possible_duplicates = {}};
        }
        CheckCustomFields(db_, tx, tenant, domain::CustomFieldEntity::kContact, f.custom_fields, "contact", true);
        CheckCompany(db_, tx, tenant, f.company_id, "contact.company_id");
        if (!f.email.empty() && !allow_duplicate) {
            // Concurrent creates of one address queue here, so the check below cannot race.
            db_.Exec(tx, sql::kLockKey, "contacts.email:" + tenant + ":" + f.email);
            const pqxx::result existing = db_.Exec(tx, sql::kActiveIdByEmail, tenant, f.email);
            if (!existing.empty()) {
                throw ApiError::AlreadyExists(
                    "an active contact with this email exists: " + existing[0][0].as<std::string>() +
                        "; set allow_duplicate to create another",
                    "DUPLICATE_EMAIL")
                    .With("existing_id", existing[0][0].as<std::string>());
            }
        }
        std::vector<domain::DuplicateMatch> duplicates =
            FindDuplicatesIn(db_, tx, tenant, ProbeOf(f), "", kCreateDuplicateLimit);
        const pqxx::result rows =
            db_.Exec(tx, sql::kInsertContact, tenant, id, f.given_name, f.family_name, f.email, f.phone, f.job_title,
                     common::NullIfEmpty(f.company_id), f.owner_id, JsonArray(f.tags), JsonObject(f.custom_fields),
                     domain::NormalizeName(f.given_name), domain::NormalizeName(f.family_name),
                     domain::NormalizeFullName(f.given_name, f.family_name),
                     ConsentText(domain::ConsentStatus::kUnknown), nullptr, "");
        domain::Contact created = ReadContact(rows[0]);
        ev1::ContactCreated event;
        *event.mutable_contact() = mapping::ToProto(created);
        AppendEvent(outbox_, tx, rc, created, event);
        return CreateContactResult{.contact = std::move(created), .possible_duplicates = std::move(duplicates)};
    });
}

domain::Contact Repository::GetContact(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadContact(db_, tx, rc.tenant_id, id); });
}

domain::Page<domain::Contact> Repository::ListContacts(const common::RequestContext& rc, const ContactListQuery& q) {
    const std::string after = q.updated_after ? std::to_string(Micros(*q.updated_after)) : "";
    const std::string scope =
        Scope(nlohmann::json::array({"ListContacts", q.tag, q.owner_id, q.company_id, after, q.show_deleted}));
    const Cursor cursor = DecodeCursor(rc.tenant_id, q.page_token, scope);
    const int fetch = q.page_size + 1;
    const char* company = common::NullIfEmpty(q.company_id);
    std::vector<domain::Contact> contacts = db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        if (!q.updated_after) {
            return ReadContacts(q.tag.empty() ? db_.Exec(tx, sql::kListContacts, t, cursor.micros, cursor.id,
                                                         q.show_deleted, q.owner_id, company, fetch)
                                              : db_.Exec(tx, sql::kListContactsByTag, t, cursor.micros, cursor.id,
                                                         q.show_deleted, q.owner_id, company, fetch, q.tag));
        }
        const std::int64_t since = Micros(*q.updated_after);
        return ReadContacts(q.tag.empty() ? db_.Exec(tx, sql::kListContactsUpdated, t, cursor.micros, cursor.id,
                                                     q.show_deleted, q.owner_id, company, fetch, since)
                                          : db_.Exec(tx, sql::kListContactsUpdatedByTag, t, cursor.micros, cursor.id,
                                                     q.show_deleted, q.owner_id, company, fetch, since, q.tag));
    });
    const bool by_update = q.updated_after.has_value();
    return MakePage(std::move(contacts), q.page_size, rc.tenant_id, scope, [by_update](const domain::Contact& c) {
        return Cursor{.micros = Micros(by_update ? c.update_time : c.create_time), .id = c.id};
    });
}

domain::Contact Repository::UpdateContact(const common::RequestContext& rc,
                                          const Update<domain::ContactFields>& update) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const domain::Contact current = LoadContact(db_, tx, tenant, update.id);
        CheckEtag(update.expected_etag, current.version);
        RequireLive(current);
        const std::vector<std::string> paths = domain::EffectiveContactMask(update.mask_paths, update.patch);
        const domain::ContactCheck check =
            domain::NormalizeContact(domain::ApplyContactMask(current.fields, update.patch, paths), settings_);
        ThrowIfInvalid(check.violations);
        const domain::ContactFields& next = check.contact;
        if (domain::MaskTouchesCustomFields(paths)) {
            CheckCustomFields(db_, tx, tenant, domain::CustomFieldEntity::kContact, next.custom_fields, "contact",
                              true);
        }
        if (next.company_id != current.fields.company_id) {
            CheckCompany(db_, tx, tenant, next.company_id, "contact.company_id");
        }
        const std::vector<std::string> changed = domain::ChangedContactPaths(current.fields, next);
        if (changed.empty()) return current;  // nothing to write, no event
        domain::Contact updated = WriteContact(db_, tx, tenant, current.id, next, current.consent, current.version);
        ev1::ContactUpdated event;
        *event.mutable_contact() = mapping::ToProto(updated);
        for (const std::string& path : changed) event.add_changed_paths(path);
        AppendEvent(outbox_, tx, rc, updated, event);
        return updated;
    });
}

domain::Contact Repository::DeleteContact(const common::RequestContext& rc, const std::string& id,
                                          const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const domain::Contact current = LoadContact(db_, tx, rc.tenant_id, id);
        CheckEtag(etag, current.version);
        if (current.state == domain::ContactState::kErased) {
            throw ApiError::FailedPrecondition("an erased contact cannot be deleted", "CONTACT_ERASED");
        }
        if (current.delete_time) return current;  // already deleted (or merged away): nothing changes
        const pqxx::result rows = db_.Exec(tx, sql::kSoftDeleteContact, rc.tenant_id, id, current.version);
        domain::Contact deleted = ReadContact(RequireWritten(rows, "contact"));
        ev1::ContactDeleted event;
        *event.mutable_contact() = mapping::ToProto(deleted);
        AppendEvent(outbox_, tx, rc, deleted, event);
        return deleted;
    });
}

domain::Page<domain::Contact> Repository::SearchContacts(const common::RequestContext& rc,
                                                         const std::vector<domain::SearchTerm>& terms, int page_size,
                                                         const std::string& page_token) {
    nlohmann::json scope_parts = nlohmann::json::array({"SearchContacts"});
    for (const auto& term : terms) scope_parts.push_back(nlohmann::json::array({term.text, term.phone_prefix}));
    const std::string scope = Scope(scope_parts);
    const Cursor cursor = DecodeCursor(rc.tenant_id, page_token, scope);
    // The longest term drives the index scan; the others filter.
    const auto lead = std::max_element(terms.begin(), terms.end(),
                                       [](const auto& a, const auto& b) { return a.text.size() < b.text.size(); });
    std::vector<std::string> lows;
    std::vector<std::string> highs;
    for (auto it = terms.begin(); it != terms.end(); ++it) {
        if (it == lead) continue;
        lows.push_back(it->text);
        highs.push_back(domain::PrefixUpperBound(it->text));
    }
    const std::string& phone = lead->phone_prefix.empty() ? lead->text : lead->phone_prefix;
    // Two steps (see sql::kSearchContactsRecent): the next contacts in page order, then, if the page is not full,
    // every match of the prefixes, sorted.
    const int fetch = page_size + 1;
    const int window = std::max(500, 25 * fetch);
    std::vector<domain::Contact> contacts = db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string upper = domain::PrefixUpperBound(lead->text), phone_upper = domain::PrefixUpperBound(phone);
        const std::string low_list = ArrayLiteral(lows), high_list = ArrayLiteral(highs);
        std::vector<domain::Contact> found =
            ReadContacts(db_.Exec(tx, sql::kSearchContactsRecent, rc.tenant_id, lead->text, upper, phone, phone_upper,
                                  low_list, high_list, cursor.micros, cursor.id, fetch, window));
        if (static_cast<int>(found.size()) == fetch) return found;
        db_.Exec(tx, sql::kSearchCollectMatches);
        return ReadContacts(db_.Exec(tx, sql::kSearchContacts, rc.tenant_id, lead->text, upper, phone, phone_upper,
                                     low_list, high_list, cursor.micros, cursor.id, fetch));
    });
    return MakePage(std::move(contacts), page_size, rc.tenant_id, scope,
                    [](const domain::Contact& c) { return Cursor{.micros = Micros(c.create_time), .id = c.id}; });
}

std::vector<domain::DuplicateMatch> Repository::FindDuplicates(const common::RequestContext& rc,
                                                               const domain::DuplicateProbe& probe, int limit) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return FindDuplicatesIn(db_, tx, rc.tenant_id, probe, "", limit); });
}

std::vector<domain::DuplicateMatch> Repository::FindDuplicatesOf(const common::RequestContext& rc,
                                                                 const std::string& contact_id, int limit) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const domain::Contact contact = LoadContact(db_, tx, rc.tenant_id, contact_id);
        return FindDuplicatesIn(db_, tx, rc.tenant_id, ProbeOf(contact.fields), contact.id, limit);
    });
}

domain::Contact Repository::MergeContacts(const common::RequestContext& rc, const std::string& survivor_id,
                                          const std::vector<std::string>& loser_ids, const std::string& request_id,
                                          const std::string& survivor_etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        if (auto first = ClaimRequest(db_, tx, tenant, "MergeContacts", request_id, survivor_id)) {
            return LoadContact(db_, tx, tenant, *first);
        }
        std::vector<std::string> ids = loser_ids;
        ids.insert(ids.begin(), survivor_id);
        std::map<std::string, domain::Contact> locked;
        for (const auto& row : db_.Exec(tx, sql::kLockContacts, tenant, ArrayLiteral(ids))) {
            domain::Contact contact = ReadContact(row);
            locked.emplace(contact.id, std::move(contact));
        }
        for (const std::string& id : ids) {
            if (!locked.contains(id)) throw ApiError::NotFound("contact", id);
        }
        const domain::Contact& survivor = locked.at(survivor_id);
        CheckEtag(survivor_etag, survivor.version);
        std::vector<domain::MergeInput> losers;
        for (const std::string& id : ids) {
            RequireLive(locked.at(id));
            if (id != survivor_id) losers.push_back({locked.at(id).fields, locked.at(id).consent});
        }
        const domain::MergeInput merged = domain::MergeContacts({survivor.fields, survivor.consent}, losers);
        domain::Contact result =
            WriteContact(db_, tx, tenant, survivor.id, merged.fields, merged.consent, survivor.version);
        if (merged.consent != survivor.consent) {
            db_.Exec(tx, sql::kInsertConsentLog, tenant, survivor.id, ConsentText(merged.consent.status),
                     merged.consent.source, Micros(merged.consent.change_time), rc.request_id);
        }
        db_.Exec(tx, sql::kMarkMerged, tenant, ArrayLiteral(loser_ids), survivor.id);
        ev1::ContactsMerged event;
        event.set_survivor_id(survivor.id);
        for (const std::string& id : loser_ids) event.add_loser_ids(id);
        *event.mutable_survivor() = mapping::ToProto(result);
        AppendEvent(outbox_, tx, rc, result, event);
        return result;
    });
}

domain::ContactExport Repository::ExportContact(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        domain::ContactExport data;
        data.contact = LoadContact(db_, tx, tenant, id);
        data.merged_contacts = ReadContacts(db_.Exec(tx, sql::kMergedInto, tenant, id));
        std::vector<std::string> ids = {id};
        for (const domain::Contact& merged : data.merged_contacts) ids.push_back(merged.id);
        for (const auto& row : db_.Exec(tx, sql::kConsentLog, tenant, ArrayLiteral(ids))) {
            data.consent_history.push_back(ReadConsentLogEntry(row));
        }
        if (!data.contact.fields.company_id.empty()) {
            const pqxx::result company = db_.Exec(tx, sql::kGetCompany, tenant, data.contact.fields.company_id);
            if (!company.empty()) data.company = ReadCompany(company[0]);
        }
        data.export_time = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
        return data;
    });
}

domain::Contact Repository::EraseContact(const common::RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const domain::Contact current = LoadContact(db_, tx, tenant, id);
        if (current.state == domain::ContactState::kErased) return current;  // already a tombstone
        // The same person's data also lives in the contacts merged into this one: erase them too.
        std::vector<std::string> ids = {id};
        for (const auto& merged : ReadContacts(db_.Exec(tx, sql::kMergedInto, tenant, id))) {
            ids.push_back(merged.id);
        }
        const std::vector<domain::Contact> erased =
            ReadContacts(db_.Exec(tx, sql::kEraseContacts, tenant, ArrayLiteral(ids)));
        db_.Exec(tx, sql::kDeleteConsentLog, tenant, ArrayLiteral(ids));
        domain::Contact tombstone = current;
        for (const domain::Contact& contact : erased) {
            ev1::ContactErased event;
            event.set_contact_id(contact.id);
            *event.mutable_erase_time() = mapping::ToProto(contact.erase_time.value_or(contact.update_time));
            AppendEvent(outbox_, tx, rc, contact, event);
            if (contact.id == id) tombstone = contact;
        }
        return tombstone;
    });
}

domain::Contact Repository::UpdateConsent(const common::RequestContext& rc, const std::string& id,
                                          domain::ConsentStatus status, const std::string& source) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const domain::Contact current = LoadContact(db_, tx, tenant, id);
        RequireLive(current);
        const pqxx::result rows =
            db_.Exec(tx, sql::kSetConsent, tenant, id, ConsentText(status), source, current.version);
        domain::Contact updated = ReadContact(RequireWritten(rows, "contact"));
        db_.Exec(tx, sql::kInsertConsentLog, tenant, id, ConsentText(status), source,
                 Micros(updated.consent.change_time), rc.request_id);
        ev1::ContactConsentChanged event;
        *event.mutable_contact() = mapping::ToProto(updated);
        event.set_previous_status(mapping::ToProto(current.consent.status));
        AppendEvent(outbox_, tx, rc, updated, event);
        return updated;
    });
}

}  // namespace crm::contacts::storage
