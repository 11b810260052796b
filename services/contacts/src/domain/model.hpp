#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/custom_fields.hpp"
#include "domain/duplicates.hpp"
#include "domain/types.hpp"

// Stored resources as the repository returns them and the API maps them to proto.
namespace crm::contacts::domain {

enum class ContactState { kActive, kMerged, kErased };

struct Contact {
    std::string id;
    ContactFields fields;
    EmailConsent consent;
    ContactState state = ContactState::kActive;
    std::string merged_into_id;
    Timestamp create_time{};
    Timestamp update_time{};
    std::optional<Timestamp> delete_time;
    std::optional<Timestamp> erase_time;
    std::int64_t version = 0;

    // Writable by UpdateContact, UpdateContactConsent, MergeContacts: active and not soft-deleted.
    bool IsLive() const { return state == ContactState::kActive && !delete_time; }
};

struct Company {
    std::string id;
    CompanyFields fields;
    Timestamp create_time{};
    Timestamp update_time{};
    std::optional<Timestamp> delete_time;
    std::int64_t version = 0;
};

struct ConsentLogEntry {
    std::string contact_id;
    ConsentStatus status = ConsentStatus::kUnknown;
    std::string source;
    Timestamp change_time{};
};

struct DuplicateMatch {
    Contact contact;
    DuplicateScore score;
};

// Everything held on one person, for ExportContactData.
struct ContactExport {
    Contact contact;
    std::optional<Company> company;
    std::vector<Contact> merged_contacts;          // contacts merged into it, directly or transitively
    std::vector<ConsentLogEntry> consent_history;  // of the contact and the merged contacts, oldest first
    Timestamp export_time{};
};

// One page of a list; next_page_token is empty on the last page.
template <typename T>
struct Page {
    std::vector<T> items;
    std::string next_page_token;
};

}  // namespace crm::contacts::domain
