#pragma once
// Statements of the CSAT area: surveys, their answers, the report. Names appear in
// crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::support::csat::sql {

using common::Sql;

// The survey of a solving reply ($3 the case, $4 the reply); a retried reply (request_id) finds its survey.
inline constexpr Sql kInsertSurvey{"csat_surveys_insert", R"SQL(
INSERT INTO csat_surveys (tenant_id, id, case_id, reply_id, contact_id, agent_id, queue_id, solve_time, expire_time)
VALUES ($1, $2::uuid, $3::uuid, $4::uuid, $5::uuid, $6, $7::uuid,
        timestamptz 'epoch' + $8::bigint * interval '1 microsecond',
        timestamptz 'epoch' + $9::bigint * interval '1 microsecond')
ON CONFLICT (tenant_id, reply_id) DO NOTHING)SQL"};

inline constexpr Sql kSurveyOfReply{"csat_surveys_of_reply", R"SQL(
SELECT id::text, (extract(epoch FROM expire_time) * 1000000)::bigint
  FROM csat_surveys WHERE tenant_id = $1 AND reply_id = $2::uuid)SQL"};

// A survey with its case's number and subject (the page shows them), and the case's wrapped data key (the subject
// is sealed under it, migration 0104).
inline constexpr Sql kGetSurvey{"csat_surveys_get", R"SQL(
SELECT s.case_id::text, s.agent_id, COALESCE(s.queue_id::text, ''),
       (extract(epoch FROM s.solve_time) * 1000000)::bigint, s.score,
       (extract(epoch FROM s.answer_time) * 1000000)::bigint, c.number, c.subject, )SQL" CRM_SUBJECT_KEY_COLUMN(
                                                        "c.tenant_id", "c.id::text") R"SQL(
  FROM csat_surveys s JOIN cases c ON c.tenant_id = s.tenant_id AND c.id = s.case_id
 WHERE s.tenant_id = $1 AND s.id = $2::uuid)SQL"};

// Records the answer of a survey not answered yet; no row when it was. $4: the comment sealed under the case's key.
inline constexpr Sql kAnswer{"csat_surveys_answer", R"SQL(
UPDATE csat_surveys SET score = $3::smallint, comment = $4, answer_time = now()
 WHERE tenant_id = $1 AND id = $2::uuid AND answer_time IS NULL
RETURNING (extract(epoch FROM answer_time) * 1000000)::bigint)SQL"};

// An erased person's comments are blanked (the scores stay: they are not personal).
inline constexpr Sql kEraseComments{
    "csat_surveys_erase_comments",
    "UPDATE csat_surveys SET comment = '' WHERE tenant_id = $1 AND contact_id = $2::uuid AND comment <> ''"};

// A merged contact's surveys follow the survivor (so that the survivor's erasure reaches them).
inline constexpr Sql kMoveContact{
    "csat_surveys_move_contact",
    "UPDATE csat_surveys SET contact_id = $3::uuid WHERE tenant_id = $1 AND contact_id = $2::uuid"};

// The report: the answers of [$2, $3) (microseconds) grouped overall, by agent, by queue and by period (unit $4: day,
// week or month, UTC); g has a bit for each column aggregated over (1 agent, 2 queue, 4 period): 7 overall, 6 an
// agent, 5 a queue, 3 a period. Read through csat_surveys_answered.
inline constexpr Sql kReport{"csat_surveys_report", R"SQL(
WITH a AS (
  SELECT agent_id, COALESCE(queue_id::text, '') AS queue_id, score,
         date_trunc($4, answer_time AT TIME ZONE 'UTC') AS period
    FROM csat_surveys
   WHERE tenant_id = $1 AND answer_time IS NOT NULL
     AND answer_time >= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'
     AND answer_time < timestamptz 'epoch' + $3::bigint * interval '1 microsecond')
SELECT GROUPING(agent_id) + 2 * GROUPING(queue_id) + 4 * GROUPING(period) AS g,
       COALESCE(agent_id, ''), COALESCE(queue_id, ''),
       COALESCE((extract(epoch FROM period) * 1000000)::bigint, 0),
       count(*), COALESCE(avg(score)::double precision, 0),
       COALESCE((count(*) FILTER (WHERE score >= 4))::double precision / NULLIF(count(*), 0), 0)
  FROM a
 GROUP BY GROUPING SETS ((), (agent_id), (queue_id), (period))
 ORDER BY g, count(*) DESC, 2, 3, 4)SQL"};

}  // namespace crm::support::csat::sql
