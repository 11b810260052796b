// Membership of segments: full evaluation of a rule, incremental updates as events change people, and the
// SegmentMembershipChanged events (see segments.hpp).
#include "segments/membership.hpp"

#include <crm/marketing/events/v1/events.pb.h>
#include <google/protobuf/util/json_util.h>

#include <limits>
#include <map>
#include <set>

#include "audience/audience.hpp"
#include "audience/sealed.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/pg_array.hpp"
#include "crm/common/violations.hpp"
#include "records.hpp"
#include "segments/segments.hpp"
#include "segments/sql.hpp"
#include "sequences/sequences.hpp"

namespace crm::marketing::segments {
namespace {

namespace ev = crm::marketing::events::v1;
constexpr std::size_t kIdsPerEvent = 1000;

std::vector<std::string> Column(const pqxx::result& rows) {
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(r[0].as<std::string>());
    return out;
}

// A predicate statement; its name labels the metrics like every named statement.
pqxx::result RunPredicate(common::Db& db, pqxx::transaction_base& tx, const char* name, const std::string& text,
                          const std::string& tenant, std::int64_t now, const std::string& third,
                          const domain::CompiledRule& compiled) {
    const common::Sql statement{name, text.c_str()};
    return db.Exec(tx, statement, tenant, now, third, pqxx::prepare::make_dynamic_params(compiled.params));
}

}  // namespace

domain::Rule StoredRule(const std::string& json) {
    v1::SegmentRule rule;
    if (!google::protobuf::util::JsonStringToMessage(json, &rule).ok()) {
        throw std::runtime_error("a stored segment rule cannot be read");
    }
    common::Violations ignored;
    return RuleOf(rule, "segment.rule", ignored);
}

void EmitMembership(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                    const std::string& request_id, const std::string& segment_id,
                    const std::vector<std::string>& entered, const std::vector<std::string>& left) {
    std::size_t e = 0, l = 0;
    while (e < entered.size() || l < left.size()) {
        ev::SegmentMembershipChanged event;
        event.set_segment_id(segment_id);
        std::int64_t delta = 0;
        for (; e < entered.size() && event.entered_size() < static_cast<int>(kIdsPerEvent); ++e, ++delta) {
            event.add_entered(entered[e]);
        }
        for (; l < left.size() && event.left_size() < static_cast<int>(kIdsPerEvent); ++l, --delta) {
            event.add_left(left[l]);
        }
        const pqxx::result bumped = db.Exec(tx, sql::kBumpMembership, tenant, segment_id, delta);
        event.set_member_count(bumped[0][1].as<std::int64_t>());
        const std::string event_id =
            outbox.Append(tx, tenant, request_id,
                          common::NewEvent{kMembershipAggregate, segment_id, bumped[0][0].as<std::int64_t>(), event});
        // Entering a segment enrols in the sequences it triggers, in this transaction (this event is the trigger).
        if (event.entered_size() > 0) {
            sequences::EnrolEntered(db, outbox, tx, tenant, segment_id,
                                    {event.entered().begin(), event.entered().end()}, event_id);
        }
    }
}

domain::CompiledRule Compile(const std::string& tenant, const domain::Rule& rule) {
    return domain::CompileRule(rule, sql::kRuleFirstParam, sql::kNowParam, [&tenant](std::string_view email) {
        return audience::sealed::EmailIndex(tenant, email);
    });
}

Matching MatchOpened(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const domain::Rule& rule,
                     const domain::CompiledRule& compiled, std::int64_t now, std::size_t keep) {
    Matching out;
    const std::string text = sql::Candidates(compiled.sql, compiled.atoms);
    const common::Sql statement{"marketing_segment_candidates", text.c_str()};
    std::vector<bool> atoms(compiled.atoms.size());
    for (const auto& r : db.Exec(tx, statement, tenant, now, 0, pqxx::prepare::make_dynamic_params(compiled.params))) {
        bool match = r[sql::kAudienceColumns].as<bool>();
        v1::AudienceMember member;
        if (!match) {
            for (std::size_t i = 0; i < atoms.size(); ++i) {
                atoms[i] = r[sql::kAudienceColumns + 1 + static_cast<int>(i)].as<bool>();
            }
            member = audience::ReadMember(r);
            match = domain::EvaluateWithAtoms(rule, compiled, atoms, audience::PersonOf(member), now);
        }
        if (!match) continue;
        out.ids.push_back(r[0].as<std::string>());
        if (out.members.size() < keep) out.members.push_back(member.id().empty() ? audience::ReadMember(r) : member);
    }
    return out;
}

void EvaluateFully(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                   const std::string& request_id, const std::string& segment_id, const domain::Rule& rule) {
    const domain::CompiledRule compiled = Compile(tenant, rule);
    const std::int64_t now = NowMicros();
    if (!compiled.exact) {
        // Conditions on sealed fields: the matching people are decided here, then the members brought in line.
        const Matching matching = MatchOpened(db, tx, tenant, rule, compiled, now, 0);
        const std::set<std::string> should(matching.ids.begin(), matching.ids.end());
        std::set<std::string> current;
        for (const auto& id : MemberIds(db, tx, tenant, segment_id)) current.insert(id);
        std::vector<std::string> leaving, entering;
        for (const auto& id : current) {
            if (!should.contains(id)) leaving.push_back(id);
        }
        for (const auto& id : should) {
            if (!current.contains(id)) entering.push_back(id);
        }
        const auto left = Column(db.Exec(tx, sql::kRemoveMembers, tenant, segment_id, common::PgTextArray(leaving)));
        const auto entered = Column(db.Exec(tx, sql::kAddMembers, tenant, segment_id, common::PgTextArray(entering)));
        EmitMembership(db, outbox, tx, tenant, request_id, segment_id, entered, left);
        return;
    }
    const auto left = Column(RunPredicate(db, tx, "marketing_segment_leave_unmatched",
                                          sql::LeaveUnmatched(compiled.sql), tenant, now, segment_id, compiled));
    const auto entered = Column(RunPredicate(db, tx, "marketing_segment_enter_matching",
                                             sql::EnterMatching(compiled.sql), tenant, now, segment_id, compiled));
    EmitMembership(db, outbox, tx, tenant, request_id, segment_id, entered, left);
}

void Segments::Apply(pqxx::transaction_base& tx, const std::string& tenant, const audience::Changes& changes) {
    std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> diff;  // entered, left
    std::set<std::string> evaluate(changes.refreshed.begin(), changes.refreshed.end());
    auto leave_everything = [&](const std::string& person, const std::string* survivor) {
        for (const auto& row : db_.Exec(tx, sql::kSegmentsOfPerson, tenant, person)) {
            const std::string segment = row[0].as<std::string>();
            if (!db_.Exec(tx, sql::kRemoveMember, tenant, segment, person).empty()) {
                diff[segment].second.push_back(person);
            }
            // A list membership moves to the survivor of a merge; dynamic segments re-evaluate the survivor.
            if (survivor && row[1].as<std::string>() == "STATIC" &&
                !db_.Exec(tx, sql::kAddMember, tenant, segment, *survivor).empty()) {
                diff[segment].first.push_back(*survivor);
            }
        }
    };
    for (const auto& [loser, survivor] : changes.merged) {
        leave_everything(loser, &survivor);
        evaluate.insert(survivor);
        evaluate.erase(loser);
    }
    for (const auto& person : changes.erased) {
        leave_everything(person, nullptr);
        evaluate.erase(person);
    }
    if (!evaluate.empty()) {
        std::vector<std::pair<std::string, domain::Rule>> dynamic;
        for (const auto& row : db_.Exec(tx, sql::kDynamicSegments, tenant)) {
            dynamic.emplace_back(row[0].as<std::string>(), StoredRule(row[1].as<std::string>()));
        }
        const std::int64_t now = NowMicros();
        for (const auto& person : evaluate) {
            if (dynamic.empty()) break;
            const auto loaded = audience::LoadPerson(db_, tx, tenant, person);
            std::set<std::string> current;  // written only where membership really changes
            for (const auto& row : db_.Exec(tx, sql::kSegmentsOfPerson, tenant, person)) {
                current.insert(row[0].as<std::string>());
            }
            for (const auto& [segment, rule] : dynamic) {
                const bool should = loaded && loaded->active && domain::Evaluate(rule, loaded->person, now);
                if (should == current.contains(segment)) continue;
                if (should) {
                    if (!db_.Exec(tx, sql::kAddMember, tenant, segment, person).empty()) {
                        diff[segment].first.push_back(person);
                    }
                } else if (!db_.Exec(tx, sql::kRemoveMember, tenant, segment, person).empty()) {
                    diff[segment].second.push_back(person);
                }
            }
        }
    }
    for (const auto& [segment, change] : diff) {
        EmitMembership(db_, outbox_, tx, tenant, "", segment, change.first, change.second);
    }
}

bool Exists(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& segment_id) {
    return !db.Exec(tx, sql::kGetSegment, tenant, segment_id).empty();
}

std::vector<std::string> MemberIds(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                   const std::string& segment_id) {
    if (db.Exec(tx, sql::kGetSegment, tenant, segment_id).empty()) {
        throw common::ApiError::NotFound("segment", segment_id);
    }
    return Column(db.Exec(tx, sql::kListMembers, tenant, segment_id, "00000000-0000-0000-0000-000000000000",
                          std::numeric_limits<std::int32_t>::max()));
}

}  // namespace crm::marketing::segments

namespace crm::marketing::segments {

bool IsStaticList(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                  const std::string& segment_id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetSegment, tenant, segment_id);
    return !rows.empty() && rows[0][3].as<std::string>() == "STATIC";
}

bool AddToList(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
               const std::string& request_id, const std::string& segment_id, const std::string& person_id) {
    if (!IsStaticList(db, tx, tenant, segment_id)) throw common::ApiError::NotFound("list", segment_id);
    if (db.Exec(tx, sql::kAddMember, tenant, segment_id, person_id).empty()) return false;
    EmitMembership(db, outbox, tx, tenant, request_id, segment_id, {person_id}, {});
    return true;
}

}  // namespace crm::marketing::segments
