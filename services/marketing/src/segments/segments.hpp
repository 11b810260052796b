#pragma once
// The segments area: static lists and dynamic segments of the audience. A dynamic segment's rule tree is validated
// (every bad node named), compiled to one SQL predicate for full evaluations (on create, on a new rule) and previews,
// and evaluated per person (domain::Evaluate) as events change people, so membership stays current without re-running
// every segment on every event. Every membership change leaves as SegmentMembershipChanged in its transaction.
#include <crm/marketing/v1/marketing.pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"
#include "domain/segment.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::marketing::audience {
struct Changes;
}

namespace crm::marketing::segments {

namespace v1 = crm::marketing::v1;
using common::RequestContext;

inline constexpr char kMembershipAggregate[] = "segment_membership";
inline constexpr std::size_t kMaxMemberValues = 10000;
inline constexpr std::size_t kMaxCsvBytes = 1 << 20;

// The request's rule as a domain rule, every node carrying its path (e.g. "segment.rule.all.rules[0]"); operators
// that are unset or unknown are reported here, everything else by domain::ValidateRule.
domain::Rule RuleOf(const v1::SegmentRule& rule, const std::string& path, common::Violations& violations);
// RuleOf + domain::ValidateRule.
domain::Rule CheckedRule(const v1::SegmentRule& rule, const std::string& path, common::Violations& violations);

// The client-settable values of a segment, checked under "segment.".
v1::Segment CheckedSegment(const v1::Segment& in, bool create, const std::vector<std::string>& paths,
                           common::Violations& violations);

struct AddResult {
    std::int64_t added = 0;
    std::vector<std::string> unmatched;
    v1::Segment segment;
};
struct RemoveResult {
    std::int64_t removed = 0;
    v1::Segment segment;
};
struct Preview {
    std::int64_t count = 0;
    std::vector<v1::AudienceMember> members;
};

class Segments {
  public:
    Segments(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

    v1::Segment Create(const RequestContext& rc, const v1::Segment& in, const std::string& request_id);
    v1::Segment Get(const RequestContext& rc, const std::string& id);
    common::Page<v1::Segment> List(const RequestContext& rc, int page_size, const std::string& page_token);
    v1::Segment Update(const RequestContext& rc, const v1::Segment& in, const std::vector<std::string>& paths,
                       const std::string& etag);
    AddResult AddMembers(const RequestContext& rc, const std::string& segment_id, const std::vector<std::string>& ids,
                         const std::vector<std::string>& emails, const std::vector<std::string>& order);
    RemoveResult RemoveMembers(const RequestContext& rc, const std::string& segment_id,
                               const std::vector<std::string>& ids, const std::vector<std::string>& emails);
    common::Page<v1::AudienceMember> Members(const RequestContext& rc, const std::string& segment_id, int page_size,
                                             const std::string& page_token);
    Preview PreviewRule(const RequestContext& rc, const domain::Rule& rule, int page_size);

    // The consumer's side, in its transaction: memberships after what an event changed (merges move list
    // memberships to the survivor, erasures remove the person from every segment, changed people are re-evaluated
    // against every dynamic segment of the tenant).
    void Apply(pqxx::transaction_base& tx, const std::string& tenant, const audience::Changes& changes);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

// For other areas, inside their transaction: whether the tenant has this segment.
bool Exists(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& segment_id);
// For other areas, inside their transaction: the ids of a segment's members (NOT_FOUND when there is no such segment).
std::vector<std::string> MemberIds(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                   const std::string& segment_id);

// For the sequences area, inside its transaction: whether the segment is a STATIC list of the tenant; adding a person
// to one (SegmentMembershipChanged when the person was not a member; NOT_FOUND when there is no such list).
bool IsStaticList(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& segment_id);
bool AddToList(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
               const std::string& request_id, const std::string& segment_id, const std::string& person_id);

}  // namespace crm::marketing::segments
