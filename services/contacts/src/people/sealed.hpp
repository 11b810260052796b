#pragma once
// The personal columns of `contacts` sealed at rest (migration 0050; docs/privacy.md "What PostgreSQL sees"): each
// sealed for its "contacts.<column>" name under the contact's data key (subject = the contact id); e-mail and phone
// also have a blind index of the normalized value. Light: the EXPLAIN tests include it.
#include "crm/common/sealed_columns.hpp"

namespace crm::contacts::people {

inline constexpr char kEmailColumn[] = "contacts.email";
inline constexpr char kPhoneColumn[] = "contacts.phone";
inline constexpr char kJobTitleColumn[] = "contacts.job_title";

// The table for the kit's backfill of rows written before 0050; `unsealed` is the predicate of the partial index
// contacts_unsealed.
inline common::SealedTable SealedContacts() {
    return {.table = "contacts",
            .columns = {{"email", "email_index"}, {"phone", "phone_index"}, {"job_title", ""}},
            .unsealed =
                "(email <> '' AND email_index = '') OR (phone <> '' AND phone_index = '') "
                "OR (job_title <> '' AND job_title NOT LIKE 'pv1.%')"};
}

}  // namespace crm::contacts::people
