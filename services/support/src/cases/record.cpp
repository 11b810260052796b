// The case record: a row of `cases` <-> crm.support.v1.Case, the enums between the API and the rules, and the events
// of a change.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "cases/cases.hpp"
#include "cases/sql.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/sealed_columns.hpp"
#include "prepared.hpp"
#include "sealed.hpp"
#include "sla/sla.hpp"

namespace crm::support::cases {
namespace {

using common::ApiError;
using google::protobuf::util::TimeUtil;

std::string Str(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

void SetTime(const pqxx::field& f, google::protobuf::Timestamp* out) {
    *out = TimeUtil::MicrosecondsToTimestamp(f.as<std::int64_t>());
}

template <class T>
void SetOptionalTime(const pqxx::field& f, T* c, google::protobuf::Timestamp* (T::*mutable_field)()) {
    if (!f.is_null()) SetTime(f, (c->*mutable_field)());
}

// Microseconds of a set timestamp as text, "" (SQL NULL) when unset.
std::string MicrosOrEmpty(bool has, const google::protobuf::Timestamp& t) {
    return has ? std::to_string(TimeUtil::TimestampToMicroseconds(t)) : std::string();
}

std::string TagsJson(const v1::Case& c) {
    return nlohmann::json(std::vector<std::string>(c.tags().begin(), c.tags().end())).dump();
}

// "" for no custom fields (nothing to seal).
std::string CustomFieldsJson(const v1::Case& c) {
    if (c.custom_fields().empty()) return "";
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : c.custom_fields()) j[k] = v;
    return j.dump();
}

// A case's personal columns as stored: sealed under the case's data key, with the blind index of its address (only
// when `with_address`: the address is written once, by the insert).
struct Sealed {
    std::string subject, description, customer_email, custom_fields, customer_email_index;
};

Sealed SealedOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Case& c,
                bool with_address) {
    common::ColumnSealer sealer(db, tx, tenant);
    Sealed s;
    s.subject = sealer.Seal(c.id(), sealed::kSubject, c.subject());
    s.description = sealer.Seal(c.id(), sealed::kDescription, c.description());
    if (with_address) {
        s.customer_email = sealer.Seal(c.id(), sealed::kCustomerEmail, c.customer_email());
        s.customer_email_index = sealed::CustomerEmailIndex(tenant, c.customer_email());
    }
    s.custom_fields = sealer.Seal(c.id(), sealed::kCustomFields, CustomFieldsJson(c));
    return s;
}

}  // namespace

v1::Case ReadCase(const std::string& tenant, const pqxx::row& r) {
    v1::Case c;
    c.set_id(r[0].as<std::string>());
    const common::ColumnKey key(tenant, c.id(), r[28]);
    c.set_number(r[1].as<std::int64_t>());
    c.set_subject(key.Open(sealed::kSubject, r[2].c_str()));
    c.set_description(key.Open(sealed::kDescription, r[3].c_str()));
    c.set_contact_id(Str(r[4]));
    c.set_company_id(Str(r[5]));
    c.set_product(r[6].as<std::string>());
    c.set_asset_id(r[7].as<std::string>());
    c.set_priority(PriorityProto(domain::ParsePriority(r[8].as<std::string>()).value_or(domain::Priority::kNormal)));
    c.set_status(StatusProto(domain::ParseStatus(r[9].as<std::string>()).value_or(domain::Status::kNew)));
    c.set_category(r[10].as<std::string>());
    for (const auto& tag : nlohmann::json::parse(r[11].as<std::string>())) c.add_tags(tag.get<std::string>());
    c.set_channel(ChannelProto(domain::ParseChannel(r[12].as<std::string>()).value_or(domain::Channel::kApi)));
    c.set_assignee_id(r[13].as<std::string>());
    c.set_language(r[14].as<std::string>());
    c.set_customer_tier(r[15].as<std::string>());
    // "" when there are none, or when the case's key was destroyed (an erased subject).
    if (const std::string custom = key.Open(sealed::kCustomFields, r[16].c_str()); !custom.empty()) {
        const nlohmann::json fields = nlohmann::json::parse(custom);
        for (const auto& [k, v] : fields.items()) (*c.mutable_custom_fields())[k] = v.get<std::string>();
    }
    SetOptionalTime(r[17], &c, &v1::Case::mutable_first_response_time);
    SetOptionalTime(r[18], &c, &v1::Case::mutable_solve_time);
    SetOptionalTime(r[19], &c, &v1::Case::mutable_close_time);
    c.set_reopen_count(r[20].as<int>());
    c.set_merged_into_id(Str(r[21]));
    c.set_message_count(r[22].as<int>());
    c.set_version(r[23].as<std::int64_t>());
    c.set_etag(common::MakeEtag(c.version()));
    SetTime(r[24], c.mutable_create_time());
    SetTime(r[25], c.mutable_update_time());
    c.set_customer_email(key.Open(sealed::kCustomerEmail, r[26].c_str()));
    c.set_queue_id(Str(r[27]));
    return c;
}

domain::Status StatusOf(v1::CaseStatus status) {
    if (status == v1::CASE_STATUS_UNSPECIFIED || !v1::CaseStatus_IsValid(status)) return domain::Status::kNew;
    return domain::ParseStatus(v1::CaseStatus_Name(status).substr(12)).value_or(domain::Status::kNew);
}
v1::CaseStatus StatusProto(domain::Status status) {
    v1::CaseStatus out = v1::CASE_STATUS_UNSPECIFIED;
    v1::CaseStatus_Parse(std::string("CASE_STATUS_") + domain::StatusText(status), &out);
    return out;
}
domain::Priority PriorityOf(v1::CasePriority priority) {
    if (priority == v1::CASE_PRIORITY_UNSPECIFIED || !v1::CasePriority_IsValid(priority)) {
        return domain::Priority::kNormal;
    }
    return domain::ParsePriority(v1::CasePriority_Name(priority).substr(14)).value_or(domain::Priority::kNormal);
}
v1::CasePriority PriorityProto(domain::Priority priority) {
    v1::CasePriority out = v1::CASE_PRIORITY_UNSPECIFIED;
    v1::CasePriority_Parse(std::string("CASE_PRIORITY_") + domain::PriorityText(priority), &out);
    return out;
}
domain::Channel ChannelOf(v1::Channel channel) {
    if (channel == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(channel)) return domain::Channel::kApi;
    return domain::ParseChannel(v1::Channel_Name(channel).substr(8)).value_or(domain::Channel::kApi);
}
v1::Channel ChannelProto(domain::Channel channel) {
    v1::Channel out = v1::CHANNEL_UNSPECIFIED;
    v1::Channel_Parse(std::string("CHANNEL_") + domain::ChannelText(channel), &out);
    return out;
}

std::int64_t NowMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

v1::Case CheckedCase(const v1::Case& c, const std::string& prefix, bool create, common::Violations& v) {
    if (!v1::CasePriority_IsValid(c.priority())) v.Add(prefix + "priority", "unknown priority");
    if (!v1::Channel_IsValid(c.channel())) v.Add(prefix + "channel", "unknown channel");
    domain::CaseFields f{.subject = c.subject(),
                         .description = c.description(),
                         .contact_id = c.contact_id(),
                         .company_id = c.company_id(),
                         .product = c.product(),
                         .asset_id = c.asset_id(),
                         .category = c.category(),
                         .language = c.language(),
                         .customer_tier = c.customer_tier(),
                         .tags = {c.tags().begin(), c.tags().end()},
                         .custom_fields = {c.custom_fields().begin(), c.custom_fields().end()}};
    v.Append(domain::NormalizeCase(f, prefix, create));
    domain::CheckEtagSyntax(v, c.etag(), prefix + "etag");
    v1::Case out = c;
    out.set_subject(f.subject);
    out.set_description(f.description);
    out.set_contact_id(f.contact_id);
    out.set_company_id(f.company_id);
    out.set_product(f.product);
    out.set_asset_id(f.asset_id);
    out.set_category(f.category);
    out.set_language(f.language);
    out.set_customer_tier(f.customer_tier);
    out.clear_tags();
    for (const auto& t : f.tags) out.add_tags(t);
    out.mutable_custom_fields()->clear();
    for (const auto& [k, val] : f.custom_fields) (*out.mutable_custom_fields())[k] = val;
    return out;
}

void ApplyStatus(v1::Case& c, domain::Status to, std::int64_t now_micros) {
    const domain::Status from = StatusOf(c.status());
    if (from == domain::Status::kSolved && to == domain::Status::kOpen) c.set_reopen_count(c.reopen_count() + 1);
    if (to == domain::Status::kSolved) *c.mutable_solve_time() = TimeUtil::MicrosecondsToTimestamp(now_micros);
    if (to == domain::Status::kClosed) *c.mutable_close_time() = TimeUtil::MicrosecondsToTimestamp(now_micros);
    c.set_status(StatusProto(to));
}

v1::Case LoadCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                  bool for_update) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetCaseForUpdate : sql::kGetCase, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("case", id);
    return ReadCase(tenant, rows[0]);
}

ContactCases LoadContactCases(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                              const std::string& contact_id, int max_open, int max_recent) {
    ContactCases out;
    // An open case is usually among the latest too, so the statement returns it twice: it is decoded (its data key
    // unwrapped, its sealed columns opened) once and copied.
    std::map<std::string, v1::Case, std::less<>> read;
    for (const auto& row : ExecPrepared(db, tx, sql::kContactCases, tenant, contact_id, max_open, max_recent)) {
        auto it = read.find(std::string_view(row[0].c_str()));
        if (it == read.end()) it = read.emplace(row[0].as<std::string>(), ReadCase(tenant, row)).first;
        (row[row.size() - 1].as<bool>() ? out.open : out.recent).push_back(it->second);
    }
    const auto key = [](const v1::Case& c) {
        return std::make_pair(TimeUtil::TimestampToMicroseconds(c.create_time()), c.id());
    };
    std::sort(out.open.begin(), out.open.end(), [&](const v1::Case& a, const v1::Case& b) { return key(a) < key(b); });
    std::sort(out.recent.begin(), out.recent.end(),
              [&](const v1::Case& a, const v1::Case& b) { return key(b) < key(a); });
    return out;
}

v1::Case InsertCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                    const v1::Case& c) {
    const std::int64_t number = db.Exec(tx, sql::kNextNumber, tenant)[0][0].as<std::int64_t>();
    v1::Case with_id = c;
    with_id.set_id(id);
    const Sealed s = SealedOf(db, tx, tenant, with_id, true);
    v1::Case written =
        ReadCase(tenant, db.Exec(tx, sql::kInsertCase, tenant, id, number, s.subject, s.description,
                                 common::NullIfEmpty(c.contact_id()), common::NullIfEmpty(c.company_id()), c.product(),
                                 c.asset_id(), domain::PriorityText(PriorityOf(c.priority())), c.category(),
                                 TagsJson(c), domain::ChannelText(ChannelOf(c.channel())), c.language(),
                                 c.customer_tier(), s.custom_fields, s.customer_email, s.customer_email_index)[0]);
    sla::Sync(db, tx, tenant, written);
    return written;
}

v1::Case WriteCase(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Case& c,
                   int version_step, std::int64_t expected_version) {
    const std::string first_response = MicrosOrEmpty(c.has_first_response_time(), c.first_response_time());
    const std::string solve = MicrosOrEmpty(c.has_solve_time(), c.solve_time());
    const std::string close = MicrosOrEmpty(c.has_close_time(), c.close_time());
    const Sealed s = SealedOf(db, tx, tenant, c, false);
    const pqxx::result rows = db.Exec(
        tx, sql::kWriteCase, tenant, c.id(), s.subject, s.description, common::NullIfEmpty(c.contact_id()),
        common::NullIfEmpty(c.company_id()), c.product(), c.asset_id(), domain::PriorityText(PriorityOf(c.priority())),
        domain::StatusText(StatusOf(c.status())), c.category(), TagsJson(c), c.assignee_id(), c.language(),
        c.customer_tier(), s.custom_fields, common::NullIfEmpty(first_response), common::NullIfEmpty(solve),
        common::NullIfEmpty(close), c.reopen_count(), common::NullIfEmpty(c.merged_into_id()), expected_version,
        c.message_count(), version_step, common::NullIfEmpty(c.queue_id()));
    if (rows.empty()) {
        throw ApiError::Aborted("the case changed meanwhile; read it again and retry", "CONCURRENT_MODIFICATION");
    }
    v1::Case written = ReadCase(tenant, rows[0]);
    sla::Sync(db, tx, tenant, written);
    return written;
}

EventBatch::EventBatch() = default;
EventBatch::~EventBatch() = default;

void EventBatch::Append(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                        const std::string& request_id, const v1::Case& written) {
    std::int64_t version = written.version() - size() + 1;
    // The SLA clocks after the write (Sync ran in WriteCase), for the events that carry them; read once.
    std::optional<std::vector<v1::SlaClock>> clocks;
    for (auto& e : events_) {
        v1::Case snapshot = written;
        snapshot.set_version(version);
        snapshot.set_etag(common::MakeEtag(version));
        const auto* field = e->GetDescriptor()->FindFieldByName("case");
        e->GetReflection()->MutableMessage(e.get(), field)->CopyFrom(snapshot);
        if (const auto* sla_field = e->GetDescriptor()->FindFieldByName("sla_clocks")) {
            if (!clocks) clocks = sla::Clocks(db, tx, tenant, written.id());
            const auto* reflection = e->GetReflection();
            reflection->ClearField(e.get(), sla_field);
            for (const auto& clock : *clocks) reflection->AddMessage(e.get(), sla_field)->CopyFrom(clock);
        }
        outbox.Append(tx, tenant, request_id, common::NewEvent{kAggregateType, written.id(), version, *e});
        ++version;
    }
}

}  // namespace crm::support::cases
