#pragma once
// The personal columns of support sealed at rest (migration 0104; README "Personal data at rest"). Each value is
// sealed for its "<table>.<column>" name under the data key of its case (subject = the case id: the key that seals the
// case's events), so it opens only in its own column of its own case's rows. A case's entries, survey comments and
// routing notes are sealed under their case's key too: an erasure that destroys the case's key leaves none of them
// openable. The address a case was opened from also has a blind index (customer_email_index) of the stored value.
#include <string>
#include <vector>

#include "crm/common/sealed_columns.hpp"

namespace crm::support::sealed {

inline constexpr char kSubject[] = "cases.subject";
inline constexpr char kDescription[] = "cases.description";
inline constexpr char kCustomerEmail[] = "cases.customer_email";
inline constexpr char kCustomFields[] = "cases.custom_fields";
inline constexpr char kAuthorName[] = "case_messages.author_name";
inline constexpr char kBody[] = "case_messages.body";
inline constexpr char kAttachments[] = "case_messages.attachments";
inline constexpr char kPhoneCall[] = "case_messages.phone_call";
inline constexpr char kComment[] = "csat_surveys.comment";
inline constexpr char kNote[] = "case_routings.note";

// The blind index of a stored customer address ("" for "").
inline std::string CustomerEmailIndex(const std::string& tenant, const std::string& email) {
    return common::ColumnIndex(tenant, kCustomerEmail, email);
}

namespace detail {
// A table whose columns are sealed under `subject` ("" = the row's id), its `unsealed` predicate built in the order of
// the partial index <table>_unsealed of migration 0104 (the backfill's look-ups must match it).
inline common::SealedTable Table(const std::string& table, const std::string& subject,
                                 const std::vector<common::SealedTable::Column>& columns) {
    common::SealedTable t{.table = table, .subject = subject, .columns = columns, .unsealed = ""};
    for (const auto& c : columns) {
        if (!t.unsealed.empty()) t.unsealed += " OR ";
        t.unsealed += "(" + c.name + " <> '' AND " + c.name + " NOT LIKE 'pv1.%')";
    }
    return t;
}
}  // namespace detail

// The tables for the kit's backfill of the rows written before migration 0104 (register.cpp; EXPLAINed by the
// support EXPLAIN test).
inline std::vector<common::SealedTable> Tables() {
    return {
        detail::Table(
            "cases", "",
            {{"subject", ""}, {"description", ""}, {"customer_email", "customer_email_index"}, {"custom_fields", ""}}),
        detail::Table("case_messages", "case_id::text",
                      {{"author_name", ""}, {"body", ""}, {"attachments", ""}, {"phone_call", ""}}),
        detail::Table("csat_surveys", "case_id::text", {{"comment", ""}}),
        detail::Table("case_routings", "case_id::text", {{"note", ""}}),
    };
}

}  // namespace crm::support::sealed
