#pragma once
// Named SQL of the segments area: segments, their members, and the statements around a compiled rule predicate
// (full evaluation, previews). The predicate itself (domain::CompileRule) is text built from the validated rule tree;
// every value in it is a parameter. Every statement filters by tenant_id = $1 in addition to row-level security.
#include <string>

#include "audience_columns.hpp"
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::marketing::segments::sql {

using common::Sql;

// clang-format off
#define CRM_SEGMENT_COLUMNS                                                                                         \
    "s.id::text, s.name, s.description, s.type, coalesce(s.rule::text, ''), s.member_count, "                     \
    CRM_MICROS("s.create_time") ", " CRM_MICROS("s.update_time") ", s.version"
inline constexpr Sql kGetSegment{"marketing_segment_get",
    "SELECT " CRM_SEGMENT_COLUMNS " FROM segments s WHERE s.tenant_id = $1 AND s.id = $2::uuid"};
inline constexpr Sql kGetSegmentForUpdate{"marketing_segment_get_for_update",
    "SELECT " CRM_SEGMENT_COLUMNS " FROM segments s WHERE s.tenant_id = $1 AND s.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kInsertSegment{"marketing_segment_insert",
    "INSERT INTO segments (tenant_id, id, name, description, type, rule) "
    "VALUES ($1, $2::uuid, $3, $4, $5, $6::jsonb)"};
inline constexpr Sql kWriteSegment{"marketing_segment_write",
    "UPDATE segments SET name = $3, description = $4, rule = $5::jsonb, version = version + 1, update_time = now() "
    "WHERE tenant_id = $1 AND id = $2::uuid AND version = $6 RETURNING id"};
inline constexpr Sql kListSegments{"marketing_segment_list",
    "SELECT " CRM_SEGMENT_COLUMNS " FROM segments s WHERE s.tenant_id = $1 "
    "AND (s.create_time, s.id) < (" CRM_AT_MICROS("$2") ", $3::uuid) ORDER BY s.create_time DESC, s.id DESC LIMIT $4"};
// The dynamic segments of a tenant, with their rules (incremental membership).
inline constexpr Sql kDynamicSegments{"marketing_segment_dynamic",
    "SELECT s.id::text, s.rule::text FROM segments s WHERE s.tenant_id = $1 AND s.type = 'DYNAMIC' "
    "ORDER BY s.id FOR SHARE"};
// Counts and the membership sequence (the aggregate version of SegmentMembershipChanged).
inline constexpr Sql kBumpMembership{"marketing_segment_bump_membership",
    "UPDATE segments SET member_count = member_count + $3, membership_version = membership_version + 1 "
    "WHERE tenant_id = $1 AND id = $2::uuid RETURNING membership_version, member_count"};

inline constexpr Sql kSegmentsOfPerson{"marketing_members_of_person",
    "SELECT m.segment_id::text, s.type FROM segment_members m JOIN segments s ON s.tenant_id = m.tenant_id "
    "AND s.id = m.segment_id WHERE m.tenant_id = $1 AND m.person_id = $2::uuid"};
inline constexpr Sql kAddMember{"marketing_member_add",
    "INSERT INTO segment_members (tenant_id, segment_id, person_id) VALUES ($1, $2::uuid, $3::uuid) "
    "ON CONFLICT DO NOTHING RETURNING person_id::text"};
inline constexpr Sql kRemoveMember{"marketing_member_remove",
    "DELETE FROM segment_members WHERE tenant_id = $1 AND segment_id = $2::uuid AND person_id = $3::uuid "
    "RETURNING person_id::text"};
// Lists: the people named by id (any state but erased) or by email (active people; $3 the addresses' blind indexes),
// and adding / removing them.
inline constexpr Sql kResolvePeople{"marketing_members_resolve",
    "SELECT a.id::text, a.email_index FROM audience a WHERE a.tenant_id = $1 AND (a.id = ANY($2::uuid[]) "
    "OR (a.email_index = ANY($3::text[]) AND a.state = 'active'))"};
inline constexpr Sql kAddMembers{"marketing_members_add",
    "INSERT INTO segment_members (tenant_id, segment_id, person_id) SELECT $1, $2::uuid, p FROM unnest($3::uuid[]) p "
    "ON CONFLICT DO NOTHING RETURNING person_id::text"};
inline constexpr Sql kRemoveMembers{"marketing_members_remove",
    "DELETE FROM segment_members WHERE tenant_id = $1 AND segment_id = $2::uuid AND person_id = ANY($3::uuid[]) "
    "RETURNING person_id::text"};
inline constexpr Sql kListMembers{"marketing_members_list",
    "SELECT " CRM_AUDIENCE_COLUMNS " FROM segment_members m JOIN audience a ON a.tenant_id = m.tenant_id "
    "AND a.id = m.person_id WHERE m.tenant_id = $1 AND m.segment_id = $2::uuid AND m.person_id > $3::uuid "
    "ORDER BY m.person_id LIMIT $4"};

// Around a compiled predicate: $1 tenant, $2 the evaluation instant (microseconds), $3 the segment id or the limit,
// the predicate's own parameters from $4 (kRuleFirstParam). $2 and $3 are named with a type in every statement (even
// where a predicate does not use the instant, or the count no limit) so that PostgreSQL can type every parameter.
inline constexpr int kRuleFirstParam = 4;
inline constexpr int kNowParam = 2;
inline std::string EnterMatching(const std::string& predicate) {
    return "INSERT INTO segment_members (tenant_id, segment_id, person_id) SELECT $1, $3::uuid, a.id FROM audience a "
           "WHERE a.tenant_id = $1 AND a.state = 'active' AND $2::bigint IS NOT NULL AND " + predicate +
           " ON CONFLICT DO NOTHING RETURNING person_id::text";
}
inline std::string LeaveUnmatched(const std::string& predicate) {
    return "DELETE FROM segment_members m WHERE m.tenant_id = $1 AND m.segment_id = $3::uuid AND NOT EXISTS ("
           "SELECT 1 FROM audience a WHERE a.tenant_id = $1 AND a.id = m.person_id AND a.state = 'active' AND "
           "$2::bigint IS NOT NULL AND " +
           predicate + ") RETURNING person_id::text";
}
inline std::string CountMatching(const std::string& predicate) {
    return "SELECT count(*) FROM audience a WHERE a.tenant_id = $1 AND a.state = 'active' AND $2::bigint IS NOT NULL "
           "AND $3::int >= 0 AND " +
           predicate;
}
inline std::string FirstMatching(const std::string& predicate) {
    return "SELECT " CRM_AUDIENCE_COLUMNS " FROM audience a WHERE a.tenant_id = $1 AND a.state = 'active' "
           "AND $2::bigint IS NOT NULL AND " + predicate + " ORDER BY a.id LIMIT $3";
}
// The candidates of a rule that leaves conditions to the service (domain::CompiledRule::exact false): the active
// people its predicate does not exclude, in id order, each with whether the predicate alone decides it (TRUE) and the
// values of the rule's atoms. $3 is unused (an int).
inline std::string Candidates(const std::string& predicate, const std::vector<std::string>& atoms) {
    std::string out = "SELECT " CRM_AUDIENCE_COLUMNS ", (" + predicate + ") IS TRUE";
    for (const auto& atom : atoms) out += ", " + atom;
    return out + " FROM audience a WHERE a.tenant_id = $1 AND a.state = 'active' AND $2::bigint IS NOT NULL "
                 "AND $3::int >= 0 AND (" + predicate + ") IS NOT FALSE ORDER BY a.id";
}
// The number of columns of CRM_AUDIENCE_COLUMNS: Candidates' flag follows them, then the atoms.
inline constexpr int kAudienceColumns = 20;
// clang-format on

}  // namespace crm::marketing::segments::sql
