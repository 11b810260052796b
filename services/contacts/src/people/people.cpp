#include "people/people.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "companies/companies.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/contacts/events/v1/events.pb.h"
#include "custom_fields/custom_fields.hpp"
#include "domain/update_mask.hpp"
#include "duplicates/duplicates.hpp"
#include "people/sql.hpp"

namespace crm::contacts::people {
namespace {

namespace ev1 = crm::contacts::events::v1;
using common::ApiError;

constexpr char kAggregate[] = "contact";

v1::ContactState StateFromText(std::string_view text) {
    if (text == "MERGED") return v1::CONTACT_STATE_MERGED;
    if (text == "ERASED") return v1::CONTACT_STATE_ERASED;
    return v1::CONTACT_STATE_ACTIVE;
}

// A contact referenced by company_id must be a live company of the tenant.
void CheckCompany(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& company_id,
                  const std::string& field) {
    if (company_id.empty()) return;
    const std::optional<v1::Company> company = companies::FindCompany(db, tx, tenant, company_id);
    if (!company) throw ApiError::InvalidArgument(field, "no company with this id");
    if (company->has_delete_time()) throw ApiError::InvalidArgument(field, "the company is deleted");
}

std::string TimeIdToken(const std::string& tenant, const std::string& scope, const google::protobuf::Timestamp& time,
                        const std::string& id) {
    return common::EncodeTimeIdToken(tenant, scope, {.micros = rows::Micros(time), .id = id});
}

}  // namespace

std::string EmailIndex(const std::string& tenant, std::string_view email) {
    return common::ColumnIndex(tenant, kEmailColumn, email);
}

std::string PhoneIndex(const std::string& tenant, std::string_view phone) {
    return common::ColumnIndex(tenant, kPhoneColumn, phone);
}

v1::Contact ReadContact(const pqxx::row& row) {
    v1::Contact c;
    c.set_id(row[0].as<std::string>());
    const common::ColumnKey key(row[20].as<std::string>(), c.id(), row[21]);
    c.set_given_name(row[1].as<std::string>());
    c.set_family_name(row[2].as<std::string>());
    c.set_email(key.Open(kEmailColumn, row[3].c_str()));
    c.set_phone(key.Open(kPhoneColumn, row[4].c_str()));
    c.set_job_title(key.Open(kJobTitleColumn, row[5].c_str()));
    c.set_company_id(row[6].as<std::string>());
    c.set_owner_id(row[7].as<std::string>());
    for (std::string& tag : rows::StringList(row[8])) c.add_tags(std::move(tag));
    for (const auto& [key, value] : rows::FieldMap(row[9])) (*c.mutable_custom_fields())[key] = value;
    v1::EmailConsent* consent = c.mutable_email_consent();
    consent->set_status(ConsentStatusFromText(row[10].as<std::string>()));
    if (auto change_time = rows::OptionalTime(row[11])) *consent->mutable_change_time() = *change_time;
    consent->set_source(row[12].as<std::string>());
    c.set_state(StateFromText(row[13].as<std::string>()));
    c.set_merged_into_id(row[14].as<std::string>());
    *c.mutable_create_time() = rows::ToTimestamp(row[15].as<std::int64_t>());
    *c.mutable_update_time() = rows::ToTimestamp(row[16].as<std::int64_t>());
    if (auto time = rows::OptionalTime(row[17])) *c.mutable_delete_time() = *time;
    if (auto time = rows::OptionalTime(row[18])) *c.mutable_erase_time() = *time;
    c.set_version(row[19].as<std::int64_t>());
    return WithDerivedFields(std::move(c));
}

v1::Contact WithDerivedFields(v1::Contact contact) {
    contact.set_display_name(domain::DisplayName(contact.given_name(), contact.family_name(), contact.email()));
    contact.set_etag(common::MakeEtag(contact.version()));
    const v1::ConsentStatus consent = contact.email_consent().status();
    if (consent != v1::CONSENT_STATUS_OPTED_IN && consent != v1::CONSENT_STATUS_OPTED_OUT) {
        contact.mutable_email_consent()->set_status(v1::CONSENT_STATUS_UNKNOWN);
        contact.mutable_email_consent()->clear_change_time();
    }
    return contact;
}

std::vector<v1::Contact> ReadContacts(const pqxx::result& rows) {
    std::vector<v1::Contact> contacts;
    contacts.reserve(rows.size());
    for (const auto& row : rows) contacts.push_back(ReadContact(row));
    return contacts;
}

std::string ConsentStatusText(v1::ConsentStatus status) {
    switch (status) {
        case v1::CONSENT_STATUS_OPTED_IN:
            return "OPTED_IN";
        case v1::CONSENT_STATUS_OPTED_OUT:
            return "OPTED_OUT";
        default:
            return "UNKNOWN";
    }
}

v1::ConsentStatus ConsentStatusFromText(std::string_view text) {
    if (text == "OPTED_IN") return v1::CONSENT_STATUS_OPTED_IN;
    if (text == "OPTED_OUT") return v1::CONSENT_STATUS_OPTED_OUT;
    return v1::CONSENT_STATUS_UNKNOWN;
}

domain::ContactFields FieldsOf(const v1::Contact& contact) {
    domain::ContactFields out;
    out.given_name = contact.given_name();
    out.family_name = contact.family_name();
    out.email = contact.email();
    out.phone = contact.phone();
    out.job_title = contact.job_title();
    out.company_id = contact.company_id();
    out.owner_id = contact.owner_id();
    out.tags.assign(contact.tags().begin(), contact.tags().end());
    out.custom_fields.insert(contact.custom_fields().begin(), contact.custom_fields().end());
    return out;
}

v1::Contact LoadContact(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetContact, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("contact", id);
    return ReadContact(rows[0]);
}

bool IsLive(const v1::Contact& contact) {
    return contact.state() == v1::CONTACT_STATE_ACTIVE && !contact.has_delete_time();
}

void RequireLive(const v1::Contact& contact) {
    if (!IsLive(contact)) {
        throw ApiError::FailedPrecondition("contact " + contact.id() + " is not active (merged, erased or deleted)",
                                           "CONTACT_NOT_ACTIVE");
    }
}

v1::Contact WriteContact(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                         const domain::ContactFields& f, const v1::EmailConsent& consent,
                         std::int64_t expected_version) {
    const bool consent_known =
        consent.status() == v1::CONSENT_STATUS_OPTED_IN || consent.status() == v1::CONSENT_STATUS_OPTED_OUT;
    const std::string consent_micros = std::to_string(rows::Micros(consent.change_time()));
    common::ColumnSealer sealer(db, tx, tenant);
    const pqxx::result rows =
        db.Exec(tx, sql::kWriteContact, tenant, id, f.given_name, f.family_name, sealer.Seal(id, kEmailColumn, f.email),
                sealer.Seal(id, kPhoneColumn, f.phone), sealer.Seal(id, kJobTitleColumn, f.job_title),
                common::NullIfEmpty(f.company_id), f.owner_id, rows::JsonArray(f.tags),
                rows::JsonObject(f.custom_fields), domain::NormalizeName(f.given_name),
                domain::NormalizeName(f.family_name), domain::NormalizeFullName(f.given_name, f.family_name),
                ConsentStatusText(consent.status()), consent_known ? consent_micros.c_str() : nullptr, consent.source(),
                expected_version, EmailIndex(tenant, f.email), PhoneIndex(tenant, f.phone));
    return ReadContact(rows::RequireWritten(rows, "contact"));
}

void AppendContactEvent(common::Outbox& outbox, pqxx::work& tx, const common::RequestContext& rc,
                        const v1::Contact& contact, const google::protobuf::Message& payload) {
    outbox.Append(tx, rc, common::NewEvent{kAggregate, contact.id(), contact.version(), payload});
}

v1::CreateContactResponse CreateContact(common::Db& db, common::Outbox& outbox,
                                        custom_fields::DefinitionCache& definitions, const common::RequestContext& rc,
                                        const domain::ContactFields& f, const std::string& request_id,
                                        bool allow_duplicate) {
    const std::string& tenant = rc.tenant_id;
    const std::optional<custom_fields::ContactRules> cached = definitions.Find(tenant);
    return db.InTenant(rc, [&](pqxx::work& tx) {
        v1::CreateContactResponse response;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, tenant, "CreateContact", request_id, id)) {
            *response.mutable_contact() = LoadContact(db, tx, tenant, *first);
            return response;
        }
        // Checked against the cached definitions; a failure is confirmed against fresh ones before it is reported
        // (the cache may lag a definition deleted a moment ago). A stale cache is caught by the create statement.
        custom_fields::ContactRules rules =
            cached ? *cached : custom_fields::LoadContactRules(db, tx, tenant, definitions);
        try {
            custom_fields::CheckContactValues(rules, f.custom_fields, "contact");
        } catch (const ApiError&) {
            if (!cached) throw;
            rules = custom_fields::LoadContactRules(db, tx, tenant, definitions);
            custom_fields::CheckContactValues(rules, f.custom_fields, "contact");
        }
        CheckCompany(db, tx, tenant, f.company_id, "contact.company_id");
        // Concurrent creates of one address queue on this key inside contacts_create, so its check cannot race. The
        // e-mail is looked up (and locked) by its blind index; the columns are stored sealed.
        const std::string email_index = EmailIndex(tenant, f.email), phone_index = PhoneIndex(tenant, f.phone);
        const std::string lock_key =
            !f.email.empty() && !allow_duplicate ? "contacts.email:" + tenant + ":" + email_index : std::string();
        common::ColumnSealer sealer(db, tx, tenant);
        const std::string email = sealer.Seal(id, kEmailColumn, f.email),
                          phone = sealer.Seal(id, kPhoneColumn, f.phone),
                          job_title = sealer.Seal(id, kJobTitleColumn, f.job_title);
        std::vector<duplicates::Candidate> candidates;
        for (int attempt = 1;; ++attempt) {
            const pqxx::result rows =
                db.Exec(tx, sql::kCreateContact, tenant, id, f.given_name, f.family_name, email, phone, job_title,
                        common::NullIfEmpty(f.company_id), f.owner_id, rows::JsonArray(f.tags),
                        rows::JsonObject(f.custom_fields), domain::NormalizeName(f.given_name),
                        domain::NormalizeName(f.family_name), domain::NormalizeFullName(f.given_name, f.family_name),
                        common::NullIfEmpty(lock_key), rules.version, email_index, phone_index);
            bool stale = false;
            for (const auto& row : rows) {
                const std::string kind = row[0].as<std::string>();
                if (kind == "stale") {
                    stale = true;
                    break;
                }
                v1::Contact contact = ReadContact(row.slice(2, row.size()));
                if (kind == "existing") {
                    throw ApiError::AlreadyExists("an active contact with this email exists: " + contact.id() +
                                                      "; set allow_duplicate to create another",
                                                  "DUPLICATE_EMAIL")
                        .With("existing_id", contact.id());
                }
                if (kind == "candidate") {
                    candidates.emplace_back(std::move(contact), row[1].as<double>());
                } else {
                    *response.mutable_contact() = std::move(contact);
                }
            }
            if (!stale) break;
            // The definitions changed since they were cached: check again with the current ones (nothing was written).
            if (attempt == 3) throw ApiError::Aborted("custom field definitions kept changing; retry", "RETRY");
            rules = custom_fields::LoadContactRules(db, tx, tenant, definitions);
            custom_fields::CheckContactValues(rules, f.custom_fields, "contact");
        }
        for (v1::DuplicateMatch& match : duplicates::Rank(duplicates::ProbeOf(f), candidates, kCreateDuplicateLimit)) {
            *response.add_possible_duplicates() = std::move(match);
        }
        ev1::ContactCreated event;
        *event.mutable_contact() = response.contact();
        AppendContactEvent(outbox, tx, rc, response.contact(), event);
        return response;
    });
}

v1::Contact GetContact(common::Db& db, const common::RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return LoadContact(db, tx, rc.tenant_id, id); });
}

common::Page<v1::Contact> ListContacts(common::Db& db, const common::RequestContext& rc, const ContactListQuery& q) {
    const std::string after = q.updated_after ? std::to_string(*q.updated_after) : "";
    const std::string scope =
        nlohmann::json::array({"ListContacts", q.tag, q.owner_id, q.company_id, after, q.show_deleted}).dump();
    const common::TimeIdKey cursor =
        common::DecodeTimeIdToken(q.page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    const int fetch = q.page_size + 1;
    const char* company = common::NullIfEmpty(q.company_id);
    std::vector<v1::Contact> contacts = db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        if (!q.updated_after) {
            return ReadContacts(q.tag.empty() ? db.Exec(tx, sql::kListContacts, t, cursor.micros, cursor.id,
                                                        q.show_deleted, q.owner_id, company, fetch)
                                              : db.Exec(tx, sql::kListContactsByTag, t, cursor.micros, cursor.id,
                                                        q.show_deleted, q.owner_id, company, fetch, q.tag));
        }
        const std::int64_t since = *q.updated_after;
        return ReadContacts(q.tag.empty() ? db.Exec(tx, sql::kListContactsUpdated, t, cursor.micros, cursor.id,
                                                    q.show_deleted, q.owner_id, company, fetch, since)
                                          : db.Exec(tx, sql::kListContactsUpdatedByTag, t, cursor.micros, cursor.id,
                                                    q.show_deleted, q.owner_id, company, fetch, since, q.tag));
    });
    const bool by_update = q.updated_after.has_value();
    return common::MakePage(std::move(contacts), q.page_size, [&](const v1::Contact& c) {
        return TimeIdToken(rc.tenant_id, scope, by_update ? c.update_time() : c.create_time(), c.id());
    });
}

v1::Contact UpdateContact(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const domain::NormalizeSettings& settings, const ContactUpdate& update) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        const v1::Contact current = LoadContact(db, tx, tenant, update.id);
        common::CheckEtag(update.expected_etag, current.version());
        RequireLive(current);
        const domain::ContactFields before = FieldsOf(current);
        const std::vector<std::string> paths = domain::EffectiveContactMask(update.mask_paths, update.patch);
        const domain::ContactCheck check =
            domain::NormalizeContact(domain::ApplyContactMask(before, update.patch, paths), settings);
        check.violations.ThrowIfAny();
        const domain::ContactFields& next = check.contact;
        if (domain::MaskTouchesCustomFields(paths)) {
            custom_fields::CheckValues(db, tx, tenant, domain::CustomFieldEntity::kContact, next.custom_fields,
                                       "contact", true);
        }
        if (next.company_id != before.company_id) CheckCompany(db, tx, tenant, next.company_id, "contact.company_id");
        const std::vector<std::string> changed = domain::ChangedContactPaths(before, next);
        if (changed.empty()) return current;  // nothing to write, no event
        v1::Contact updated =
            WriteContact(db, tx, tenant, current.id(), next, current.email_consent(), current.version());
        ev1::ContactUpdated event;
        *event.mutable_contact() = updated;
        for (const std::string& path : changed) event.add_changed_paths(path);
        AppendContactEvent(outbox, tx, rc, updated, event);
        return updated;
    });
}

v1::Contact DeleteContact(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const std::string& id, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Contact current = LoadContact(db, tx, rc.tenant_id, id);
        common::CheckEtag(etag, current.version());
        if (current.state() == v1::CONTACT_STATE_ERASED) {
            throw ApiError::FailedPrecondition("an erased contact cannot be deleted", "CONTACT_ERASED");
        }
        if (current.has_delete_time()) return current;  // already deleted (or merged away): nothing changes
        const pqxx::result rows = db.Exec(tx, sql::kSoftDeleteContact, rc.tenant_id, id, current.version());
        v1::Contact deleted = ReadContact(rows::RequireWritten(rows, "contact"));
        ev1::ContactDeleted event;
        *event.mutable_contact() = deleted;
        AppendContactEvent(outbox, tx, rc, deleted, event);
        return deleted;
    });
}

common::Page<v1::Contact> SearchContacts(common::Db& db, const common::RequestContext& rc,
                                         const std::vector<domain::SearchTerm>& terms, int page_size,
                                         const std::string& page_token) {
    nlohmann::json scope_parts = nlohmann::json::array({"SearchContacts"});
    for (const auto& term : terms) scope_parts.push_back(nlohmann::json::array({term.text, term.phone_prefix}));
    const std::string scope = scope_parts.dump();
    const common::TimeIdKey cursor =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    // The longest term drives the index scan; the others filter.
    const auto lead = std::max_element(terms.begin(), terms.end(),
                                       [](const auto& a, const auto& b) { return a.text.size() < b.text.size(); });
    // E-mail and phone are stored sealed: a term finds them only whole, by blind index. "-" is no index (those are hex
    // or ""), so a term that is no e-mail address or phone number matches neither, not the contacts without one.
    const auto email_index = [&](const domain::SearchTerm& term) {
        const domain::Normalized email = domain::NormalizeEmail(term.text);
        return email.ok() ? EmailIndex(rc.tenant_id, email.value) : std::string("-");
    };
    std::vector<std::string> lows;
    std::vector<std::string> highs;
    std::vector<std::string> email_indexes;
    for (auto it = terms.begin(); it != terms.end(); ++it) {
        if (it == lead) continue;
        lows.push_back(it->text);
        highs.push_back(domain::PrefixUpperBound(it->text));
        email_indexes.push_back(email_index(*it));
    }
    const std::string lead_email = email_index(*lead);
    const std::string lead_phone = lead->phone_prefix.empty() ? "-" : PhoneIndex(rc.tenant_id, lead->phone_prefix);
    // Two steps (see sql::kSearchContactsRecent): the next contacts in page order, then, if the page is not full,
    // every match of the prefixes, sorted.
    const int fetch = page_size + 1;
    const int window = std::max(500, 25 * fetch);
    std::vector<v1::Contact> contacts = db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string upper = domain::PrefixUpperBound(lead->text);
        const std::string low_list = rows::ArrayLiteral(lows), high_list = rows::ArrayLiteral(highs),
                          index_list = rows::ArrayLiteral(email_indexes);
        std::vector<v1::Contact> found =
            ReadContacts(db.Exec(tx, sql::kSearchContactsRecent, rc.tenant_id, lead->text, upper, lead_email,
                                 lead_phone, low_list, high_list, cursor.micros, cursor.id, fetch, window, index_list));
        if (static_cast<int>(found.size()) == fetch) return found;
        db.Exec(tx, sql::kSearchCollectMatches);
        return ReadContacts(db.Exec(tx, sql::kSearchContacts, rc.tenant_id, lead->text, upper, lead_email, lead_phone,
                                    low_list, high_list, cursor.micros, cursor.id, fetch, index_list));
    });
    return common::MakePage(std::move(contacts), page_size, [&](const v1::Contact& c) {
        return TimeIdToken(rc.tenant_id, scope, c.create_time(), c.id());
    });
}

}  // namespace crm::contacts::people
