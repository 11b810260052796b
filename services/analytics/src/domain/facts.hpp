#pragma once
// The facts the read models are made of: one row per event of another service, keyed by aggregate and version.
// Fields that an event does not state are empty (std::nullopt) and the previous version's value carries on when the
// versions are folded (kpis.hpp). The key of a row is (aggregate, version, event id). Pure data: no I/O, no protobuf.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/field_facts.hpp"
#include "domain/support_facts.hpp"

namespace crm::analytics::domain {

// Microseconds since the Unix epoch (UTC).
using Micros = int64_t;

enum class RecordKind { kContact, kCompany };

// A contact or company event (topic crm.contacts.v1).
struct RecordVersion {
    RecordKind kind = RecordKind::kContact;
    std::string record_id;
    int64_t version = 0;
    std::string event_id;
    Micros occurred_at = 0;
    std::optional<Micros> created_at;
    std::optional<Micros> deleted_at;
    bool operator==(const RecordVersion&) const = default;
};

enum class LeadStatus { kOpen, kConverted, kDisqualified };

// A lead event (topic crm.leads.v1).
struct LeadVersion {
    std::string lead_id;
    int64_t version = 0;
    std::string event_id;
    Micros occurred_at = 0;
    std::optional<std::string> source;
    std::optional<std::string> campaign_id;
    std::optional<std::string> owner_id;
    std::optional<LeadStatus> status;
    std::optional<Micros> created_at;
    std::optional<Micros> first_response_at;
    std::optional<Micros> response_due_at;
    std::optional<Micros> converted_at;
    bool operator==(const LeadVersion&) const = default;
};

enum class DealStatus { kOpen, kWon, kLost };

// An opportunity event (topic crm.sales.v1).
struct OpportunityVersion {
    std::string opportunity_id;
    int64_t version = 0;
    std::string event_id;
    Micros occurred_at = 0;
    std::optional<std::string> pipeline_id;
    std::optional<std::string> stage_id;
    std::optional<std::string> stage_name;
    std::optional<int> probability_bp;  // basis points, 0..10000
    std::optional<DealStatus> status;
    std::optional<int64_t> amount_minor;
    std::optional<std::string> currency_code;
    std::optional<std::string> owner_id;
    std::optional<Micros> expected_close_at;
    std::optional<Micros> created_at;
    std::optional<Micros> closed_at;
    std::optional<Micros> deleted_at;  // soft-deleted: no longer counted anywhere from then on
    std::optional<std::string> lead_id;
    std::optional<std::string> source;
    std::optional<std::string> campaign_id;
    bool operator==(const OpportunityVersion&) const = default;
};

// What one event contributes (most events contribute one row, some none).
struct Facts {
    std::vector<RecordVersion> records;
    std::vector<LeadVersion> leads;
    std::vector<OpportunityVersion> opportunities;
    SupportFacts support;  // its own tables and KPIs (support_kpis/)
    FieldFacts field;      // its own tables and KPIs (field_kpis/)

    bool empty() const {
        return records.empty() && leads.empty() && opportunities.empty() && support.empty() && field.empty();
    }
    void Append(const Facts& other) {
        records.insert(records.end(), other.records.begin(), other.records.end());
        leads.insert(leads.end(), other.leads.begin(), other.leads.end());
        opportunities.insert(opportunities.end(), other.opportunities.begin(), other.opportunities.end());
        support.Append(other.support);
        field.Append(other.field);
    }
};

const char* ToString(RecordKind kind);
const char* ToString(LeadStatus status);
const char* ToString(DealStatus status);
std::optional<RecordKind> RecordKindFrom(const std::string& text);
std::optional<LeadStatus> LeadStatusFrom(const std::string& text);
std::optional<DealStatus> DealStatusFrom(const std::string& text);

}  // namespace crm::analytics::domain
