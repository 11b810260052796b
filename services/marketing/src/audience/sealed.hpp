#pragma once
// The personal columns marketing seals at rest (migration 0021; README "Personal data at rest"). Each audience value
// is sealed for its "audience.<column>" name under the person's data key (subject = the audience id: the contact or
// lead id), so it opens only in its own column of its own person; custom fields value by value for
// "audience.custom.<key>". A message recipient's address is the audience's sealed e-mail copied as it is (sealed for
// "audience.email" under the same key). E-mail equality (lists, suppressions, data-subject look-ups, segment
// conditions) goes through the blind index of the stored address.
#include <string>
#include <string_view>

#include "crm/common/sealed_columns.hpp"

namespace crm::marketing::audience::sealed {

inline constexpr char kEmail[] = "audience.email";
inline constexpr char kGivenName[] = "audience.given_name";
inline constexpr char kFamilyName[] = "audience.family_name";
inline constexpr char kJobTitle[] = "audience.job_title";
inline constexpr char kCompanyName[] = "audience.company_name";
inline constexpr char kCustom[] = "audience.custom";

// The blind index of an address as the audience stores it (lower case): audience.email_index,
// email_recipients.email_index and suppressions.address_key hold it.
inline std::string EmailIndex(std::string_view tenant, std::string_view email) {
    return common::ColumnIndex(tenant, kEmail, email);
}

// The backfills of rows written before migration 0021 (register.cpp; EXPLAINed by the marketing sealed test). Their
// `unsealed` predicates are those of the partial indexes audience_unsealed, audience_custom_unsealed and
// email_recipients_unsealed.
inline common::SealedTable AudienceTable() {
    return {.table = "audience",
            .columns = {{"email", "email_index"},
                        {"given_name", ""},
                        {"family_name", ""},
                        {"job_title", ""},
                        {"company_name", ""}},
            .unsealed =
                "(email <> '' AND email_index = '') OR (given_name <> '' AND given_name NOT LIKE 'pv1.%') "
                "OR (family_name <> '' AND family_name NOT LIKE 'pv1.%') "
                "OR (job_title <> '' AND job_title NOT LIKE 'pv1.%') "
                "OR (company_name <> '' AND company_name NOT LIKE 'pv1.%')"};
}
inline common::SealedTable CustomTable() {
    return {.table = "audience",
            .columns = {{.name = "custom", .index = "", .object = true}},
            .unsealed = R"(jsonb_path_exists(custom, '$.* ? (@ != "" && !(@ starts with "pv1."))'))"};
}
// A recipient row has no single-column id: the backfill finds it by its ctid while it holds the row's lock.
inline common::SealedTable RecipientsTable() {
    return {.table = "email_recipients",
            .id = "ctid",
            .id_type = "tid",
            .subject = "person_id::text",
            .columns = {{.name = "email", .index = "email_index", .object = false, .sealed_as = kEmail}},
            .unsealed = "email <> '' AND email_index = ''"};
}

}  // namespace crm::marketing::audience::sealed
