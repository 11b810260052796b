#pragma once
// The personal columns of `leads` sealed at rest (migration 0007; README "Personal data at rest"): each is sealed for
// its "leads.<column>" name under the lead's data key (subject = the lead id), so a value opens only in its own
// column of its own lead. E-mail and phone also have a blind index (email_index, phone_index) of the stored value.
#include <string>

#include "crm/common/sealed_columns.hpp"

namespace crm::leads::lifecycle::sealed {

inline constexpr char kGivenName[] = "leads.given_name";
inline constexpr char kFamilyName[] = "leads.family_name";
inline constexpr char kEmail[] = "leads.email";
inline constexpr char kPhone[] = "leads.phone";
inline constexpr char kCompanyName[] = "leads.company_name";
inline constexpr char kJobTitle[] = "leads.job_title";
inline constexpr char kRegion[] = "leads.region";
inline constexpr char kNotes[] = "leads.notes";
inline constexpr char kStatusReason[] = "leads.status_reason";
inline constexpr char kConsentText[] = "leads.consent_text";
// The web form's mapped fields (jsonb, migration 0008): each value sealed for "leads.attributes.<key>", keys clear.
inline constexpr char kAttributes[] = "leads.attributes";
// An engagement's free text, sealed under its lead's key (migration 0008).
inline constexpr char kEngagementDetail[] = "lead_engagements.detail";

// In the order of the partial index leads_unsealed (migration 0007), which the backfill's look-ups must match.
inline constexpr const char* kColumns[] = {kGivenName, kFamilyName, kEmail, kPhone,        kCompanyName,
                                           kJobTitle,  kRegion,     kNotes, kStatusReason, kConsentText};

// The table for the kit's backfill of the leads written before migration 0007 (register.cpp; EXPLAINed by the leads
// EXPLAIN test). Its `unsealed` is the predicate of leads_unsealed: a column with a clear value.
inline common::SealedTable Table() {
    // The row's id (the default "id", uuid) is the subject; the backfill's update finds each row by its primary key.
    common::SealedTable t{.table = "leads", .columns = {}, .unsealed = ""};
    for (const char* column : kColumns) {
        const std::string name = std::string(column).substr(std::string("leads.").size());
        const std::string index = name == "email" || name == "phone" ? name + "_index" : "";
        t.columns.push_back({name, index});
        if (!t.unsealed.empty()) t.unsealed += " OR ";
        t.unsealed += "(" + name + " <> '' AND " + name + " NOT LIKE 'pv1.%')";
    }
    return t;
}

// The leads whose attributes were written before migration 0008. `unsealed` is the predicate of
// leads_attributes_unsealed: a value that is neither "" nor sealed.
inline common::SealedTable AttributesTable() {
    return {.table = "leads",
            .columns = {{.name = "attributes", .index = "", .object = true}},
            .unsealed = R"(jsonb_path_exists(attributes, '$.* ? (@ != "" && !(@ starts with "pv1."))'))"};
}

// The engagements written before migration 0008, for the same backfill: each row is sealed under its lead's key (the
// key of the lead's row and events), found by its own primary key. `unsealed` is the predicate of
// lead_engagements_unsealed.
inline common::SealedTable EngagementsTable() {
    return {.table = "lead_engagements",
            .subject = "lead_id::text",
            .columns = {{"detail", ""}},
            .unsealed = "detail <> '' AND detail NOT LIKE 'pv1.%'"};
}

}  // namespace crm::leads::lifecycle::sealed
