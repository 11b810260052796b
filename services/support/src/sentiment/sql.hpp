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

}  // namespace crm::support::sentiment::sql
