#pragma once
// Statements of the knowledge base: articles, their published versions, the search terms of the live versions, the
// search itself, votes and case links. Names appear in crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"

namespace crm::support::kb::sql {

using common::Sql;

#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

// Columns of an article, in the order ReadArticle expects.
#define CRM_ARTICLE_COLUMNS \
    "id::text, title, body, category, locale, state, published_version, latest_version, " CRM_MICROS(        \
        "publish_time") ", author_id, helpful_count, not_helpful_count, linked_case_count, version, " CRM_MICROS( \
        "create_time") ", " CRM_MICROS("update_time")

inline constexpr Sql kInsertArticle{"kb_articles_insert",
                                    "INSERT INTO kb_articles (tenant_id, id, title, body, category, locale, author_id) "
                                    "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7) RETURNING " CRM_ARTICLE_COLUMNS};

inline constexpr Sql kGetArticle{
    "kb_articles_get", "SELECT " CRM_ARTICLE_COLUMNS " FROM kb_articles WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kGetArticleForUpdate{"kb_articles_get_for_update",
                                          "SELECT " CRM_ARTICLE_COLUMNS
                                          " FROM kb_articles WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE"};

// One page of articles, oldest first, after the keyset ($2 micros, $3 id); each filter ($5 state, $6 locale,
// $7 category) applies when not NULL (a custom plan per call: a given filter is its index's prefix).
inline constexpr Sql kListArticles{"kb_articles_list", "SELECT " CRM_ARTICLE_COLUMNS R"SQL(
 FROM kb_articles WHERE tenant_id = $1
  AND ($5::text IS NULL OR state = $5) AND ($6::text IS NULL OR locale = $6) AND ($7::text IS NULL OR category = $7)
  AND (create_time, id) > (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)
 ORDER BY create_time, id LIMIT $4::int)SQL"};

// The working copy and lifecycle columns, with an optimistic version check ($11); the version grows by one.
inline constexpr Sql kWriteArticle{
    "kb_articles_write",
    "UPDATE kb_articles SET title = $3, body = $4, category = $5, locale = $6, state = $7, published_version = $8, "
    "latest_version = $9, publish_time = CASE WHEN $10 THEN clock_timestamp() ELSE publish_time END, "
    "version = version + 1, update_time = clock_timestamp() "
    "WHERE tenant_id = $1 AND id = $2::uuid AND version = $11 RETURNING " CRM_ARTICLE_COLUMNS};

// --- versions and search terms -----------------------------------------------------------------------------------
inline constexpr Sql kUnsetLive{
    "kb_versions_unset_live",
    "UPDATE kb_article_versions SET live = false WHERE tenant_id = $1 AND article_id = $2::uuid AND live"};

inline constexpr Sql kInsertVersion{
    "kb_versions_insert",
    "INSERT INTO kb_article_versions (tenant_id, article_id, version_number, title, body, category, locale, language, "
    "search_config, live, published_by) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9::regconfig, true, $10)"};

inline constexpr Sql kDeleteTerms{"kb_terms_delete",
                                  "DELETE FROM kb_search_terms WHERE tenant_id = $1 AND article_id = $2::uuid"};

// The distinct lexemes of the version just published ($3) under its language.
inline constexpr Sql kInsertTerms{"kb_terms_insert", R"SQL(
INSERT INTO kb_search_terms (tenant_id, language, lexeme, article_id)
SELECT v.tenant_id, v.language, lexeme, v.article_id
  FROM kb_article_versions v, unnest(tsvector_to_array(v.search)) AS lexeme
 WHERE v.tenant_id = $1 AND v.article_id = $2::uuid AND v.version_number = $3)SQL"};

// Versions of an article, newest first, below the keyset $3 (a version number; 2^31-1 for the first page).
inline constexpr Sql kListVersions{"kb_versions_list", R"SQL(
SELECT article_id::text, version_number, title, body, category, locale, published_by, )SQL" CRM_MICROS(
                                                           "publish_time") R"SQL(, live
  FROM kb_article_versions WHERE tenant_id = $1 AND article_id = $2::uuid AND version_number < $3
 ORDER BY version_number DESC LIMIT $4::int)SQL"};

// Columns of a hit, in the order ReadHit expects: the snippet escapes the body's <, > and & so that <mark> is the only
// markup in it.
#define CRM_HIT_COLUMNS                                                                                               \
    "v.article_id::text, v.version_number, v.title, v.category, v.locale, "                                           \
    "ts_headline(v.search_config, replace(replace(replace(v.body, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), r.tsq, " \
    "'MaxFragments=2, MinWords=8, MaxWords=24, FragmentDelimiter=\" … \", StartSel=<mark>, StopSel=</mark>'), "     \
    "r.rank, a.helpful_count, a.not_helpful_count"

// Full-text search over the tenant's live versions in language $2 with configuration $3 and web-search query $4:
// candidates by equality on the search terms (any lexeme of the query), each candidate's live version by its partial
// unique index (a LATERAL ... LIMIT 1 keeps that a parameterized index scan, whatever the table's size), the exact
// match (@@) and ts_rank (title A, body B, rank divided by 1 + log(length)) on its stored tsvector, category filter
// $5, after the keyset ($6 rank, $7 id: NULL for the first page), best first, $8 rows; the snippets only for the page.
inline constexpr Sql kSearch{"kb_search", R"SQL(
WITH q AS (SELECT websearch_to_tsquery($3::regconfig, $4) AS tsq,
                  tsvector_to_array(to_tsvector($3::regconfig, $4)) AS lexemes),
c AS (SELECT DISTINCT t.article_id FROM q, kb_search_terms t
       WHERE t.tenant_id = $1 AND t.language = $2 AND t.lexeme = ANY (q.lexemes)),
r AS (SELECT v.article_id, v.version_number, q.tsq, ts_rank(v.search, q.tsq, 1) AS rank
        FROM q, c, LATERAL (SELECT * FROM kb_article_versions v
                             WHERE v.tenant_id = $1 AND v.article_id = c.article_id AND v.live LIMIT 1) v
       WHERE v.search @@ q.tsq AND ($5::text IS NULL OR v.category = $5)),
page AS (SELECT * FROM r WHERE $6::real IS NULL OR r.rank < $6::real OR (r.rank = $6::real AND r.article_id > $7::uuid)
          ORDER BY r.rank DESC, r.article_id LIMIT $8::int)
SELECT )SQL" CRM_HIT_COLUMNS R"SQL(
  FROM page r
  JOIN kb_article_versions v ON v.tenant_id = $1 AND v.article_id = r.article_id AND v.version_number = r.version_number
  JOIN kb_articles a ON a.tenant_id = $1 AND a.id = r.article_id
 ORDER BY r.rank DESC, r.article_id)SQL"};

// Suggestions for a case's subject ($4) and description ($5) in language $2 with configuration $3: the at most 32
// lexemes that occur most (subject words count twice) make an OR query; candidates, rank and snippets as kSearch; $6
// rows.
inline constexpr Sql kSuggest{"kb_suggest", R"SQL(
WITH picked AS (SELECT lexeme FROM (
                  SELECT lexeme, 2 * array_length(positions, 1) AS n FROM unnest(to_tsvector($3::regconfig, $4))
                  UNION ALL
                  SELECT lexeme, array_length(positions, 1) FROM unnest(to_tsvector($3::regconfig, $5))) x
                GROUP BY lexeme ORDER BY sum(n) DESC, lexeme LIMIT 32),
q AS (SELECT (SELECT string_agg('''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''', ' | ')
                FROM picked)::tsquery AS tsq,
             ARRAY(SELECT lexeme FROM picked) AS lexemes),
c AS (SELECT DISTINCT t.article_id FROM q, kb_search_terms t
       WHERE t.tenant_id = $1 AND t.language = $2 AND t.lexeme = ANY (q.lexemes)),
r AS (SELECT v.article_id, v.version_number, q.tsq, ts_rank(v.search, q.tsq, 1) AS rank
        FROM q, c, LATERAL (SELECT * FROM kb_article_versions v
                             WHERE v.tenant_id = $1 AND v.article_id = c.article_id AND v.live LIMIT 1) v),
page AS (SELECT * FROM r ORDER BY r.rank DESC, r.article_id LIMIT $6::int)
SELECT )SQL" CRM_HIT_COLUMNS R"SQL(
  FROM page r
  JOIN kb_article_versions v ON v.tenant_id = $1 AND v.article_id = r.article_id AND v.version_number = r.version_number
  JOIN kb_articles a ON a.tenant_id = $1 AND a.id = r.article_id
 ORDER BY r.rank DESC, r.article_id)SQL"};

// --- votes -----------------------------------------------------------------------------------------------------------
inline constexpr Sql kGetVote{
    "kb_feedback_get",
    "SELECT helpful FROM kb_article_feedback WHERE tenant_id = $1 AND article_id = $2::uuid AND user_id = $3"};
inline constexpr Sql kUpsertVote{"kb_feedback_upsert", R"SQL(
INSERT INTO kb_article_feedback (tenant_id, article_id, user_id, helpful) VALUES ($1, $2::uuid, $3, $4)
ON CONFLICT (tenant_id, article_id, user_id) DO UPDATE SET helpful = EXCLUDED.helpful, update_time = clock_timestamp())SQL"};
inline constexpr Sql kAdjustVotes{
    "kb_articles_adjust_votes",
    "UPDATE kb_articles SET helpful_count = helpful_count + $3, not_helpful_count = not_helpful_count + $4 "
    "WHERE tenant_id = $1 AND id = $2::uuid RETURNING " CRM_ARTICLE_COLUMNS};

// --- case links ------------------------------------------------------------------------------------------------------
#define CRM_LINK_COLUMNS \
    "l.case_id::text, l.article_id::text, l.version_number, a.title, l.linked_by, " CRM_MICROS("l.create_time")

inline constexpr Sql kInsertLink{"kb_links_insert", R"SQL(
INSERT INTO kb_case_links (tenant_id, case_id, article_id, version_number, linked_by)
VALUES ($1, $2::uuid, $3::uuid, $4, $5) ON CONFLICT (tenant_id, case_id, article_id) DO NOTHING RETURNING 1)SQL"};
inline constexpr Sql kGetLink{"kb_links_get", "SELECT " CRM_LINK_COLUMNS
                                              " FROM kb_case_links l JOIN kb_articles a ON a.tenant_id = l.tenant_id "
                                              "AND a.id = l.article_id WHERE l.tenant_id = $1 AND l.case_id = $2::uuid "
                                              "AND l.article_id = $3::uuid"};
inline constexpr Sql kCountCaseLinks{"kb_links_count_case",
                                     "SELECT count(*) FROM kb_case_links WHERE tenant_id = $1 AND case_id = $2::uuid"};
inline constexpr Sql kCountLinked{
    "kb_articles_count_linked",
    "UPDATE kb_articles SET linked_case_count = linked_case_count + 1 WHERE tenant_id = $1 AND id = $2::uuid"};
// A case's links (at most kMaxCaseArticleLinks), newest first.
inline constexpr Sql kListCaseLinks{"kb_links_list_case",
                                    "SELECT " CRM_LINK_COLUMNS
                                    " FROM kb_case_links l JOIN kb_articles a ON a.tenant_id = l.tenant_id AND a.id = "
                                    "l.article_id WHERE l.tenant_id = $1 AND l.case_id = $2::uuid "
                                    "ORDER BY l.create_time DESC, l.article_id LIMIT $3::int"};

#undef CRM_LINK_COLUMNS
#undef CRM_HIT_COLUMNS
#undef CRM_ARTICLE_COLUMNS
#undef CRM_MICROS

}  // namespace crm::support::kb::sql
