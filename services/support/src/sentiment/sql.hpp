#pragma once
// Statements of the sentiment area: the tenant's rule and a case's scored customer messages. Names appear in
// crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"

namespace crm::support::sentiment::sql {

using common::Sql;

inline constexpr Sql kGetRule{"sentiment_rules_get",
                              "SELECT enabled, threshold, version, (extract(epoch FROM update_time) * 1000000)::bigint "
                              "FROM support_sentiment_rules WHERE tenant_id = $1"};
inline constexpr Sql kLockRule{"sentiment_rules_lock",
                               "SELECT version FROM support_sentiment_rules WHERE tenant_id = $1 FOR UPDATE"};
inline constexpr Sql kUpsertRule{"sentiment_rules_upsert", R"SQL(
INSERT INTO support_sentiment_rules (tenant_id, enabled, threshold, version) VALUES ($1, $2, $3, 1)
ON CONFLICT (tenant_id) DO UPDATE SET enabled = $2, threshold = $3, version = support_sentiment_rules.version + 1,
 update_time = now())SQL"};

// The last 500 scored messages of a case, newest first (the caller reverses them).
inline constexpr Sql kCasePoints{"case_messages_sentiment_trend", R"SQL(
SELECT id::text, (extract(epoch FROM create_time) * 1000000)::bigint, sentiment_score, sentiment_label
 FROM case_messages WHERE tenant_id = $1 AND case_id = $2::uuid AND sentiment_score IS NOT NULL
 ORDER BY create_time DESC, id DESC LIMIT 500)SQL"};

// The last $3 scored messages of each case of $2 (the customer view's cases): one row per case that has any, its
// scores oldest first as text ("-0.5,0.25"); each case's read through case_messages_case backwards.
inline constexpr Sql kRecentScores{"case_messages_sentiment_recent", R"SQL(
SELECT c.id::text, s.scores
  FROM unnest($2::uuid[]) AS c(id)
 CROSS JOIN LATERAL (
   SELECT array_to_string(array_agg(p.sentiment_score ORDER BY p.create_time, p.id), ',') AS scores
     FROM (SELECT m.sentiment_score, m.create_time, m.id FROM case_messages m
            WHERE m.tenant_id = $1 AND m.case_id = c.id AND m.sentiment_score IS NOT NULL
            ORDER BY m.create_time DESC, m.id DESC LIMIT $3::int) p) s
 WHERE s.scores IS NOT NULL)SQL"};

}  // namespace crm::support::sentiment::sql
