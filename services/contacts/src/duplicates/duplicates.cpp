#include "duplicates/duplicates.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/contacts/events/v1/events.pb.h"
#include "domain/normalize.hpp"
#include "duplicates/sql.hpp"
#include "people/people.hpp"
#include "privacy/privacy.hpp"

namespace crm::contacts::duplicates {
namespace {

namespace ev1 = crm::contacts::events::v1;
using common::ApiError;

v1::DuplicateReason ReasonOf(domain::DuplicateReason reason) {
    switch (reason) {
        case domain::DuplicateReason::kEmailExact:
            return v1::DUPLICATE_REASON_EMAIL_EXACT;
        case domain::DuplicateReason::kPhoneExact:
            return v1::DUPLICATE_REASON_PHONE_EXACT;
        case domain::DuplicateReason::kNameAndCompanySimilar:
            return v1::DUPLICATE_REASON_NAME_AND_COMPANY_SIMILAR;
        case domain::DuplicateReason::kNameSimilar:
            return v1::DUPLICATE_REASON_NAME_SIMILAR;
    }
    return v1::DUPLICATE_REASON_UNSPECIFIED;
}

}  // namespace

domain::DuplicateProbe ProbeOf(const domain::ContactFields& fields) {
    return {.email = fields.email,
            .phone = fields.phone,
            .name = domain::NormalizeFullName(fields.given_name, fields.family_name),
            .company_id = fields.company_id};
}

v1::DuplicateMatch MatchOf(const v1::Contact& contact, const domain::DuplicateScore& score) {
    v1::DuplicateMatch match;
    *match.mutable_contact() = contact;
    match.set_score(score.score);
    for (domain::DuplicateReason reason : score.reasons) match.add_reasons(ReasonOf(reason));
    return match;
}

domain::MergeInput MergeInputOf(const v1::Contact& contact) {
    domain::MergeInput input{.fields = people::FieldsOf(contact), .consent = {}};
    const v1::EmailConsent& consent = contact.email_consent();
    if (consent.status() == v1::CONSENT_STATUS_OPTED_IN) input.consent.status = domain::ConsentStatus::kOptedIn;
    if (consent.status() == v1::CONSENT_STATUS_OPTED_OUT) input.consent.status = domain::ConsentStatus::kOptedOut;
    if (input.consent.status != domain::ConsentStatus::kUnknown) {
        input.consent.change_time = rows::ToDomainTime(consent.change_time());
    }
    input.consent.source = consent.source();
    return input;
}

v1::EmailConsent ConsentOf(const domain::EmailConsent& consent) {
    v1::EmailConsent out;
    switch (consent.status) {
        case domain::ConsentStatus::kOptedIn:
            out.set_status(v1::CONSENT_STATUS_OPTED_IN);
            break;
        case domain::ConsentStatus::kOptedOut:
            out.set_status(v1::CONSENT_STATUS_OPTED_OUT);
            break;
        case domain::ConsentStatus::kUnknown:
            out.set_status(v1::CONSENT_STATUS_UNKNOWN);
            break;
    }
    if (consent.status != domain::ConsentStatus::kUnknown) {
        *out.mutable_change_time() = rows::ToTimestamp(consent.change_time.time_since_epoch().count());
    }
    out.set_source(consent.source);
    return out;
}

std::vector<v1::DuplicateMatch> Rank(const domain::DuplicateProbe& probe, const std::vector<Candidate>& candidates,
                                     int limit) {
    std::vector<v1::DuplicateMatch> matches;
    for (const auto& [candidate, similarity] : candidates) {
        const domain::DuplicateScore score =
            domain::ScoreDuplicate(probe, ProbeOf(people::FieldsOf(candidate)), similarity);
        if (score.IsPossibleDuplicate()) matches.push_back(MatchOf(candidate, score));
    }
    std::stable_sort(matches.begin(), matches.end(), [](const v1::DuplicateMatch& a, const v1::DuplicateMatch& b) {
        if (a.score() != b.score()) return a.score() > b.score();
        const auto key = [](const v1::DuplicateMatch& m) {
            return std::make_tuple(rows::Micros(m.contact().create_time()), m.contact().id());
        };
        return key(a) < key(b);
    });
    if (static_cast<int>(matches.size()) > limit) matches.resize(static_cast<std::size_t>(limit));
    return matches;
}

std::vector<v1::DuplicateMatch> FindIn(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                       const domain::DuplicateProbe& probe, const std::string& exclude_id, int limit) {
    if (probe.email.empty() && probe.phone.empty() && probe.name.empty()) return {};
    const pqxx::result rows = db.Exec(tx, sql::kDuplicateCandidates, tenant, people::EmailIndex(tenant, probe.email),
                                      people::PhoneIndex(tenant, probe.phone), probe.name,
                                      common::NullIfEmpty(probe.company_id), common::NullIfEmpty(exclude_id));
    std::vector<Candidate> candidates;
    candidates.reserve(rows.size());
    for (const auto& row : rows) {
        candidates.emplace_back(people::ReadContact(row), row[people::kContactColumnCount].as<double>());
    }
    return Rank(probe, candidates, limit);
}

std::vector<v1::DuplicateMatch> FindDuplicates(common::Db& db, const common::RequestContext& rc,
                                               const domain::DuplicateProbe& probe, int limit) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return FindIn(db, tx, rc.tenant_id, probe, "", limit); });
}

std::vector<v1::DuplicateMatch> FindDuplicatesOf(common::Db& db, const common::RequestContext& rc,
                                                 const std::string& contact_id, int limit) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Contact contact = people::LoadContact(db, tx, rc.tenant_id, contact_id);
        return FindIn(db, tx, rc.tenant_id, ProbeOf(people::FieldsOf(contact)), contact.id(), limit);
    });
}

v1::Contact MergeContacts(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const std::string& survivor_id, const std::vector<std::string>& loser_ids,
                          const std::string& request_id, const std::string& survivor_etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& tenant = rc.tenant_id;
        if (auto first = common::ClaimRequest(db, tx, tenant, "MergeContacts", request_id, survivor_id)) {
            return people::LoadContact(db, tx, tenant, *first);
        }
        std::vector<std::string> ids = loser_ids;
        ids.insert(ids.begin(), survivor_id);
        std::map<std::string, v1::Contact> locked;
        for (const auto& row : db.Exec(tx, sql::kLockContacts, tenant, rows::ArrayLiteral(ids))) {
            v1::Contact contact = people::ReadContact(row);
            const std::string id = contact.id();
            locked.emplace(id, std::move(contact));
        }
        for (const std::string& id : ids) {
            if (!locked.contains(id)) throw ApiError::NotFound("contact", id);
        }
        const v1::Contact& survivor = locked.at(survivor_id);
        common::CheckEtag(survivor_etag, survivor.version());
        std::vector<domain::MergeInput> losers;
        for (const std::string& id : ids) {
            people::RequireLive(locked.at(id));
            if (id != survivor_id) losers.push_back(MergeInputOf(locked.at(id)));
        }
        const domain::MergeInput before = MergeInputOf(survivor);
        const domain::MergeInput merged = domain::MergeContacts(before, losers);
        const v1::EmailConsent consent = ConsentOf(merged.consent);
        v1::Contact result =
            people::WriteContact(db, tx, tenant, survivor.id(), merged.fields, consent, survivor.version());
        if (merged.consent != before.consent) privacy::LogConsent(db, tx, rc, survivor.id(), consent);
        db.Exec(tx, sql::kMarkMerged, tenant, rows::ArrayLiteral(loser_ids), survivor.id());
        ev1::ContactsMerged event;
        event.set_survivor_id(survivor.id());
        for (const std::string& id : loser_ids) event.add_loser_ids(id);
        *event.mutable_survivor() = result;
        people::AppendContactEvent(outbox, tx, rc, result, event);
        return result;
    });
}

}  // namespace crm::contacts::duplicates
