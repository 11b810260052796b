// Segments: static lists and dynamic segments (see segments.hpp).
#include "segments/segments.hpp"

#include <google/protobuf/util/json_util.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "audience/audience.hpp"
#include "audience/sealed.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "records.hpp"
#include "segments/membership.hpp"
#include "segments/sql.hpp"

namespace crm::marketing::segments {
namespace {

using common::ApiError;
constexpr common::TextRule kLongText{.max_chars = 4000, .multiline = true};
constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";

// Each address with its blind index (audience.email_index): lists find people by it, never by the address.
std::map<std::string, std::string> EmailIndexes(const std::string& tenant, const std::vector<std::string>& emails) {
    std::map<std::string, std::string> out;
    for (const auto& email : emails) out.emplace(email, audience::sealed::EmailIndex(tenant, email));
    return out;
}

std::optional<domain::Op> OpOf(v1::ConditionOperator op) {
    switch (op) {
        case v1::CONDITION_OPERATOR_EQUALS:
            return domain::Op::kEquals;
        case v1::CONDITION_OPERATOR_NOT_EQUALS:
            return domain::Op::kNotEquals;
        case v1::CONDITION_OPERATOR_IN:
            return domain::Op::kIn;
        case v1::CONDITION_OPERATOR_CONTAINS:
            return domain::Op::kContains;
        case v1::CONDITION_OPERATOR_EXISTS:
            return domain::Op::kExists;
        case v1::CONDITION_OPERATOR_NOT_EXISTS:
            return domain::Op::kNotExists;
        case v1::CONDITION_OPERATOR_GREATER:
            return domain::Op::kGreater;
        case v1::CONDITION_OPERATOR_GREATER_OR_EQUAL:
            return domain::Op::kGreaterOrEqual;
        case v1::CONDITION_OPERATOR_LESS:
            return domain::Op::kLess;
        case v1::CONDITION_OPERATOR_LESS_OR_EQUAL:
            return domain::Op::kLessOrEqual;
        case v1::CONDITION_OPERATOR_WITHIN_LAST_DAYS:
            return domain::Op::kWithinLastDays;
        case v1::CONDITION_OPERATOR_BEFORE:
            return domain::Op::kBefore;
        case v1::CONDITION_OPERATOR_AFTER:
            return domain::Op::kAfter;
        default:
            return std::nullopt;
    }
}

v1::Segment ReadSegment(const pqxx::row& r) {
    v1::Segment s;
    s.set_id(r[0].as<std::string>());
    s.set_name(r[1].as<std::string>());
    s.set_description(r[2].as<std::string>());
    s.set_type(r[3].as<std::string>() == "DYNAMIC" ? v1::SEGMENT_TYPE_DYNAMIC : v1::SEGMENT_TYPE_STATIC);
    const std::string rule = r[4].as<std::string>();
    if (!rule.empty() && !google::protobuf::util::JsonStringToMessage(rule, s.mutable_rule()).ok()) {
        throw std::runtime_error("a stored segment rule cannot be read");
    }
    s.set_member_count(r[5].as<std::int64_t>());
    SetTime(s.mutable_create_time(), r[6]);
    SetTime(s.mutable_update_time(), r[7]);
    s.set_version(r[8].as<std::int64_t>());
    s.set_etag(common::MakeEtag(s.version()));
    return s;
}

v1::Segment Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                 bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetSegmentForUpdate : sql::kGetSegment, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("segment", id);
    return ReadSegment(rows[0]);
}

std::string RuleJson(const v1::SegmentRule& rule) {
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(rule, &json).ok()) {
        throw std::runtime_error("a segment rule cannot be written as JSON");
    }
    return json;
}

bool Has(const std::vector<std::string>& paths, const char* path) {
    for (const auto& p : paths) {
        if (p == path) return true;
    }
    return false;
}

}  // namespace

domain::Rule RuleOf(const v1::SegmentRule& rule, const std::string& path, common::Violations& v) {
    domain::Rule out;
    out.path = path;
    switch (rule.node_case()) {
        case v1::SegmentRule::kAll:
        case v1::SegmentRule::kAny: {
            const bool all = rule.node_case() == v1::SegmentRule::kAll;
            out.kind = all ? domain::Rule::Kind::kAll : domain::Rule::Kind::kAny;
            const auto& rules = all ? rule.all().rules() : rule.any().rules();
            const std::string prefix = path + (all ? ".all.rules[" : ".any.rules[");
            // Children beyond the limit are not walked (the group is reported as too large).
            for (int i = 0; i < rules.size() && i <= 50; ++i) {
                out.children.push_back(RuleOf(rules[i], prefix + std::to_string(i) + "]", v));
            }
            if (rules.size() > 50) out.children.resize(51);
            break;
        }
        case v1::SegmentRule::kNot:
            out.kind = domain::Rule::Kind::kNot;
            out.children.push_back(RuleOf(rule.not_(), path + ".not", v));
            break;
        case v1::SegmentRule::kField: {
            out.kind = domain::Rule::Kind::kField;
            out.field.field = rule.field().field();
            out.field.values.assign(rule.field().values().begin(), rule.field().values().end());
            if (const auto op = OpOf(rule.field().op())) {
                out.field.op = *op;
            } else {
                v.Add(path + ".field.op", "required: one of the ConditionOperator values");
                for (std::size_t i = 0; i < out.field.values.size(); ++i) {  // the values' text is checked still
                    common::CheckText(v, out.field.values[i], path + ".field.values[" + std::to_string(i) + "]",
                                      {.max_chars = 200});
                }
                out.field.op = domain::Op::kExists;  // validated no further
                out.field.values.clear();
            }
            break;
        }
        case v1::SegmentRule::kEngagement:
            out.kind = domain::Rule::Kind::kEngagement;
            out.engagement.type = rule.engagement().type();
            out.engagement.campaign_id = rule.engagement().campaign_id();
            out.engagement.within_days = rule.engagement().within_days();
            out.engagement.min_count = rule.engagement().min_count() == 0 ? 1 : rule.engagement().min_count();
            break;
        default:
            out.malformed = true;
            break;
    }
    return out;
}

domain::Rule CheckedRule(const v1::SegmentRule& rule, const std::string& path, common::Violations& v) {
    domain::Rule out = RuleOf(rule, path, v);
    domain::ValidateRule(out, v);
    return out;
}

v1::Segment CheckedSegment(const v1::Segment& in, bool create, const std::vector<std::string>& paths,
                           common::Violations& v) {
    v1::Segment out = in;
    if (create) common::CheckText(v, in.id(), "segment.id", common::kName);
    out.set_name(common::text::Trim(in.name()));
    common::CheckText(v, out.name(), "segment.name",
                      create || Has(paths, "name") ? common::kRequiredName : common::kName);
    common::CheckText(v, in.description(), "segment.description", kLongText);
    if (!v1::SegmentType_IsValid(in.type())) {
        v.Add("segment.type", "unknown segment type");
    } else if (create && in.type() == v1::SEGMENT_TYPE_UNSPECIFIED) {
        v.Add("segment.type", "required: STATIC or DYNAMIC");
    }
    if (in.has_rule()) {
        CheckedRule(in.rule(), "segment.rule", v);
        if (create && in.type() == v1::SEGMENT_TYPE_STATIC) v.Add("segment.rule", "a STATIC list has no rule");
    } else if ((create && in.type() == v1::SEGMENT_TYPE_DYNAMIC) || (!create && Has(paths, "rule"))) {
        v.Add("segment.rule", "required: a DYNAMIC segment's rule tree");
    }
    if (!in.etag().empty() && !common::ParseEtag(in.etag())) {
        v.Add("segment.etag", "not an etag this service issued; send the value last read, or nothing");
    }
    return out;
}

v1::Segment Segments::Create(const RequestContext& rc, const v1::Segment& in, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db_, tx, t, "CreateSegment", request_id, id)) {
            return Load(db_, tx, t, *first);
        }
        const bool dynamic = in.type() == v1::SEGMENT_TYPE_DYNAMIC;
        const std::string rule = dynamic ? RuleJson(in.rule()) : std::string();
        db_.Exec(tx, sql::kInsertSegment, t, id, in.name(), in.description(), dynamic ? "DYNAMIC" : "STATIC",
                 common::NullIfEmpty(rule));
        if (dynamic) {
            common::Violations ignored;
            EvaluateFully(db_, outbox_, tx, t, rc.request_id, id, RuleOf(in.rule(), "segment.rule", ignored));
        }
        return Load(db_, tx, t, id);
    });
}

v1::Segment Segments::Get(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return Load(db_, tx, rc.tenant_id, id); });
}

common::Page<v1::Segment> Segments::List(const RequestContext& rc, int page_size, const std::string& page_token) {
    const std::string scope = "ListSegments";
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::Segment> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Segment> out;
        for (const auto& r : db_.Exec(tx, sql::kListSegments, rc.tenant_id, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadSegment(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Segment& s) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(s.create_time()), s.id()});
    });
}

v1::Segment Segments::Update(const RequestContext& rc, const v1::Segment& in, const std::vector<std::string>& paths,
                             const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Segment current = Load(db_, tx, t, in.id(), true);
        common::CheckEtag(etag, current.version());
        v1::Segment next = current;
        bool rule_changed = false;
        for (const auto& p : paths) {
            if (p == "name") next.set_name(in.name());
            if (p == "description") next.set_description(in.description());
            if (p == "rule") {
                if (current.type() != v1::SEGMENT_TYPE_DYNAMIC) {
                    throw ApiError::InvalidArgument("segment.rule", "a STATIC list has no rule");
                }
                *next.mutable_rule() = in.rule();
                rule_changed = RuleJson(in.rule()) != RuleJson(current.rule());
            }
        }
        if (next.name() == current.name() && next.description() == current.description() && !rule_changed) {
            return current;
        }
        const std::string rule = next.type() == v1::SEGMENT_TYPE_DYNAMIC ? RuleJson(next.rule()) : std::string();
        if (db_.Exec(tx, sql::kWriteSegment, t, current.id(), next.name(), next.description(),
                     common::NullIfEmpty(rule), current.version())
                .empty()) {
            throw ApiError::Aborted("the segment changed concurrently; read it again and retry");
        }
        if (rule_changed) {
            common::Violations ignored;
            EvaluateFully(db_, outbox_, tx, t, rc.request_id, current.id(),
                          RuleOf(next.rule(), "segment.rule", ignored));
        }
        return Load(db_, tx, t, current.id());
    });
}

AddResult Segments::AddMembers(const RequestContext& rc, const std::string& segment_id,
                               const std::vector<std::string>& ids, const std::vector<std::string>& emails,
                               const std::vector<std::string>& order) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Segment segment = Load(db_, tx, t, segment_id, true);
        if (segment.type() != v1::SEGMENT_TYPE_STATIC) {
            throw ApiError::FailedPrecondition("members of a DYNAMIC segment come from its rule", "SEGMENT_DYNAMIC");
        }
        std::set<std::string> found_ids, found_emails;
        std::vector<std::string> people;
        const std::map<std::string, std::string> index_of = EmailIndexes(t, emails);
        std::vector<std::string> indexes;
        for (const auto& [email, index] : index_of) indexes.push_back(index);
        std::set<std::string> found_indexes;
        for (const auto& r : db_.Exec(tx, sql::kResolvePeople, t, PgArray(ids), domain::TextArrayLiteral(indexes))) {
            people.push_back(r[0].as<std::string>());
            found_ids.insert(r[0].as<std::string>());
            found_indexes.insert(r[1].as<std::string>());
        }
        for (const auto& [email, index] : index_of) {
            if (found_indexes.contains(index)) found_emails.insert(email);
        }
        AddResult result;
        for (const auto& value : order) {
            if (!found_ids.contains(value) && !found_emails.contains(value) && result.unmatched.size() < 100) {
                result.unmatched.push_back(value);
            }
        }
        std::vector<std::string> entered;
        for (const auto& r : db_.Exec(tx, sql::kAddMembers, t, segment_id, PgArray(people))) {
            entered.push_back(r[0].as<std::string>());
        }
        result.added = static_cast<std::int64_t>(entered.size());
        EmitMembership(db_, outbox_, tx, t, rc.request_id, segment_id, entered, {});
        result.segment = Load(db_, tx, t, segment_id);
        return result;
    });
}

RemoveResult Segments::RemoveMembers(const RequestContext& rc, const std::string& segment_id,
                                     const std::vector<std::string>& ids, const std::vector<std::string>& emails) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Segment segment = Load(db_, tx, t, segment_id, true);
        if (segment.type() != v1::SEGMENT_TYPE_STATIC) {
            throw ApiError::FailedPrecondition("members of a DYNAMIC segment come from its rule", "SEGMENT_DYNAMIC");
        }
        std::vector<std::string> people, indexes;
        for (const auto& [email, index] : EmailIndexes(t, emails)) indexes.push_back(index);
        for (const auto& r : db_.Exec(tx, sql::kResolvePeople, t, PgArray(ids), domain::TextArrayLiteral(indexes))) {
            people.push_back(r[0].as<std::string>());
        }
        std::vector<std::string> left;
        for (const auto& r : db_.Exec(tx, sql::kRemoveMembers, t, segment_id, PgArray(people))) {
            left.push_back(r[0].as<std::string>());
        }
        EmitMembership(db_, outbox_, tx, t, rc.request_id, segment_id, {}, left);
        return RemoveResult{static_cast<std::int64_t>(left.size()), Load(db_, tx, t, segment_id)};
    });
}

common::Page<v1::AudienceMember> Segments::Members(const RequestContext& rc, const std::string& segment_id,
                                                   int page_size, const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListSegmentMembers", segment_id}.dump();
    const auto keys = common::DecodePageToken(page_token, rc.tenant_id, scope, 1);
    const std::string after = keys.empty() ? kNilUuid : keys[0];
    std::vector<v1::AudienceMember> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        Load(db_, tx, rc.tenant_id, segment_id);
        std::vector<v1::AudienceMember> out;
        for (const auto& r : db_.Exec(tx, sql::kListMembers, rc.tenant_id, segment_id, after, page_size + 1)) {
            out.push_back(audience::ReadMember(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::AudienceMember& m) {
        return common::EncodePageToken(rc.tenant_id, scope, {m.id()});
    });
}

Preview Segments::PreviewRule(const RequestContext& rc, const domain::Rule& rule, int page_size) {
    const domain::CompiledRule compiled = Compile(rc.tenant_id, rule);
    if (!compiled.exact) {  // conditions on sealed fields: decided on the opened rows
        const std::int64_t now = NowMicros();
        return db_.InTenant(rc, [&](pqxx::work& tx) {
            Matching matching =
                MatchOpened(db_, tx, rc.tenant_id, rule, compiled, now, static_cast<std::size_t>(page_size));
            return Preview{.count = static_cast<std::int64_t>(matching.ids.size()),
                           .members = std::move(matching.members)};
        });
    }
    const std::string count_sql = sql::CountMatching(compiled.sql);
    const std::string first_sql = sql::FirstMatching(compiled.sql);
    const common::Sql count{"marketing_segment_preview_count", count_sql.c_str()};
    const common::Sql first{"marketing_segment_preview_first", first_sql.c_str()};
    const std::int64_t now = NowMicros();
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        Preview out;
        out.count = db_.Exec(tx, count, rc.tenant_id, now, 0, pqxx::prepare::make_dynamic_params(compiled.params))[0][0]
                        .as<std::int64_t>();
        for (const auto& r :
             db_.Exec(tx, first, rc.tenant_id, now, page_size, pqxx::prepare::make_dynamic_params(compiled.params))) {
            out.members.push_back(audience::ReadMember(r));
        }
        return out;
    });
}

}  // namespace crm::marketing::segments
