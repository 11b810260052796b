#pragma once
// Statements of the queues area: queues and members, presence, routing rules, the routing history, and the locks and
// counts of assignment. Names appear in crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::support::queues::sql {

using common::Sql;

#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
// The statuses in which a case counts as active (matches the partial indexes of migration 0100).
#define CRM_ACTIVE "status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER', 'ON_HOLD')"
#define CRM_QUEUE_COLUMNS \
    "q.id::text, q.name, q.description, q.strategy, q.active, q.version, " CRM_MICROS("q.create_time") ", " CRM_MICROS( \
        "q.update_time") ", (SELECT count(*) FROM cases c WHERE c.tenant_id = q.tenant_id AND c.queue_id = q.id "        \
                         "AND c.assignee_id = '' AND c." CRM_ACTIVE ")"

inline constexpr Sql kInsertQueue{"queues_insert", R"SQL(
INSERT INTO support_queues (tenant_id, id, name, name_key, description, strategy, active)
VALUES ($1, $2::uuid, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, name_key) DO NOTHING RETURNING id)SQL"};

inline constexpr Sql kGetQueue{
    "queues_get", "SELECT " CRM_QUEUE_COLUMNS " FROM support_queues q WHERE q.tenant_id = $1 AND q.id = $2::uuid"};

// One page of queues by (name_key, id) after the keyset ($2, $3).
inline constexpr Sql kListQueues{"queues_list", "SELECT " CRM_QUEUE_COLUMNS R"SQL(, q.name_key
 FROM support_queues q WHERE q.tenant_id = $1 AND (q.name_key, q.id) > ($2, $3::uuid)
 ORDER BY q.name_key, q.id LIMIT $4::int)SQL"};

// The queue row locked: every assignment within the queue and every change of it serialize on it.
inline constexpr Sql kLockQueue{"queues_lock", R"SQL(
SELECT strategy, active, last_agent, version FROM support_queues WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE)SQL"};

inline constexpr Sql kUpdateQueue{"queues_update", R"SQL(
UPDATE support_queues SET name = $3, name_key = $4, description = $5, strategy = $6, active = $7,
 version = version + 1, update_time = now()
 WHERE tenant_id = $1 AND id = $2::uuid AND NOT EXISTS (
   SELECT 1 FROM support_queues o WHERE o.tenant_id = $1 AND o.name_key = $4 AND o.id <> $2::uuid)
 RETURNING id)SQL"};

inline constexpr Sql kSetLastAgent{"queues_set_last_agent",
                                   "UPDATE support_queues SET last_agent = $3 WHERE tenant_id = $1 AND id = $2::uuid"};

inline constexpr Sql kMembers{"queue_members_of_queue", R"SQL(
SELECT agent_id, array_to_json(skills)::text, array_to_json(languages)::text, capacity
 FROM support_queue_members WHERE tenant_id = $1 AND queue_id = $2::uuid ORDER BY position)SQL"};

inline constexpr Sql kDeleteMembers{"queue_members_delete",
                                    "DELETE FROM support_queue_members WHERE tenant_id = $1 AND queue_id = $2::uuid"};

inline constexpr Sql kInsertMember{"queue_members_insert", R"SQL(
INSERT INTO support_queue_members (tenant_id, queue_id, agent_id, position, skills, languages, capacity)
VALUES ($1, $2::uuid, $3, $4, $5::text[], $6::text[], $7))SQL"};

// The active queues of an agent with the agent's membership, locked in id order (an agent becoming available).
inline constexpr Sql kLockQueuesOfAgent{"queues_lock_of_agent", R"SQL(
SELECT q.id::text, array_to_json(m.skills)::text, array_to_json(m.languages)::text, m.capacity
 FROM support_queue_members m JOIN support_queues q ON q.tenant_id = m.tenant_id AND q.id = m.queue_id
 WHERE m.tenant_id = $1 AND m.agent_id = $2 AND q.active ORDER BY q.id FOR UPDATE OF q)SQL"};

// --- presence and load -------------------------------------------------------------------------------------------
inline constexpr Sql kUpsertPresence{"agent_presence_upsert", R"SQL(
INSERT INTO support_agent_presence (tenant_id, agent_id, presence, updated_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id, agent_id) DO UPDATE SET presence = $3, updated_by = $4, update_time = now())SQL"};

inline constexpr Sql kGetPresence{"agent_presence_get", "SELECT presence, updated_by, " CRM_MICROS(
                                                            "update_time") " FROM support_agent_presence "
                                                                           "WHERE tenant_id = $1 AND agent_id = $2"};

// The available agents among $2, locked in agent order: concurrent assignments to one agent serialize here, and an
// agent turning away meanwhile is seen.
inline constexpr Sql kLockAvailable{"agent_presence_lock_available", R"SQL(
SELECT agent_id FROM support_agent_presence
 WHERE tenant_id = $1 AND agent_id = ANY($2::text[]) AND presence = 'AVAILABLE' ORDER BY agent_id FOR UPDATE)SQL"};

// Active cases per agent (run after the locks above, so it sees every committed assignment).
inline constexpr Sql kLoads{"cases_active_load",
                            "SELECT assignee_id, count(*)::int FROM cases WHERE tenant_id = $1 "
                            "AND assignee_id = ANY($2::text[]) AND assignee_id <> '' AND " CRM_ACTIVE
                            " GROUP BY assignee_id"};

// Waiting cases of the queues $2 (oldest first) with the skills their last routing asked for; rows another
// transaction holds are skipped.
inline constexpr Sql kWaitingCases{"cases_waiting_in_queues", R"SQL(
SELECT c.id::text, c.queue_id::text, c.language,
 coalesce((SELECT array_to_json(r.required_skills)::text FROM case_routings r
           WHERE r.tenant_id = c.tenant_id AND r.case_id = c.id ORDER BY r.create_time DESC, r.id DESC LIMIT 1), '[]')
 FROM cases c WHERE c.tenant_id = $1 AND c.queue_id = ANY($2::uuid[]) AND c.assignee_id = '' AND c.)SQL" CRM_ACTIVE
                                                              R"SQL(
 ORDER BY c.create_time, c.id LIMIT $3::int FOR UPDATE OF c SKIP LOCKED)SQL"};

// --- rules and history ----------------------------------------------------------------------------------------------
inline constexpr Sql kGetRules{
    "routing_rules_get",
    "SELECT body::text, version, " CRM_MICROS("update_time") " FROM support_routing_rules WHERE tenant_id = $1"};
inline constexpr Sql kLockRules{"routing_rules_lock",
                                "SELECT version FROM support_routing_rules WHERE tenant_id = $1 FOR UPDATE"};
inline constexpr Sql kUpsertRules{"routing_rules_upsert", R"SQL(
INSERT INTO support_routing_rules (tenant_id, body, version) VALUES ($1, $2::jsonb, 1)
ON CONFLICT (tenant_id) DO UPDATE SET body = $2::jsonb, version = support_routing_rules.version + 1,
 update_time = now() RETURNING version, )SQL" CRM_MICROS("update_time")};
// Which of the ids $2 are queues of the tenant.
inline constexpr Sql kExistingQueues{
    "queues_existing", "SELECT id::text FROM support_queues WHERE tenant_id = $1 AND id = ANY($2::uuid[])"};

// Which of the ids $2 are active queues of the tenant (rules naming an inactive queue are skipped).
inline constexpr Sql kActiveQueues{
    "queues_active", "SELECT id::text FROM support_queues WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND active"};

// The last column: the wrapped data key of the case, under which the note is sealed (migration 0104).
#define CRM_ROUTING_COLUMNS                                                                                         \
    "id::text, case_id::text, queue_id::text, previous_queue_id::text, rule_index, rule_name, assignee_id, "        \
    "previous_assignee_id, reason, actor_id, note, " CRM_MICROS(                                                    \
        "create_time") ", array_to_json(required_skills)::text, " CRM_SUBJECT_KEY_COLUMN("case_routings.tenant_id", \
                                                                                         "case_routings.case_id::"  \
                                                                                         "text")

inline constexpr Sql kInsertRouting{"case_routings_insert", R"SQL(
INSERT INTO case_routings (tenant_id, id, case_id, queue_id, previous_queue_id, rule_index, rule_name, assignee_id,
 previous_assignee_id, reason, actor_id, note, required_skills)
VALUES ($1, $2::uuid, $3::uuid, $4::uuid, $5::uuid, $6, $7, $8, $9, $10, $11, $12, $13::text[]) RETURNING )SQL" CRM_ROUTING_COLUMNS};

// A case's routings, oldest first, after the keyset ($3 micros, $4 id).
inline constexpr Sql kListRoutings{"case_routings_list", "SELECT " CRM_ROUTING_COLUMNS R"SQL(
 FROM case_routings WHERE tenant_id = $1 AND case_id = $2::uuid
  AND (create_time, id) > (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid)
 ORDER BY create_time, id LIMIT $5::int)SQL"};

#undef CRM_ROUTING_COLUMNS
#undef CRM_QUEUE_COLUMNS
#undef CRM_ACTIVE
#undef CRM_MICROS

}  // namespace crm::support::queues::sql
