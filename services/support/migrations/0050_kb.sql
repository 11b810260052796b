-- Knowledge base: articles (the working copy and its lifecycle), every published version, the search terms of the
-- live versions, votes and links to cases.
--
-- Search and row-level security: under RLS PostgreSQL uses a condition as an index condition only when its operator
-- is LEAKPROOF, and the text-search match `@@` is not, so a GIN index on the tsvector would never serve the
-- application role (it would read every live version of the tenant and filter). The lexemes of each live version are
-- therefore also kept in kb_search_terms, one row per (language, lexeme, article), found by equality (leakproof) in
-- its primary key; the stored, weighted tsvector of the version then decides the exact match (@@ on the candidates
-- only), the ranking (ts_rank) and the snippet (ts_headline).

CREATE TABLE kb_articles (
    tenant_id         text        NOT NULL,
    id                uuid        NOT NULL,
    title             text        NOT NULL CHECK (title <> ''),
    body              text        NOT NULL CHECK (body <> ''),
    category          text        NOT NULL DEFAULT '',
    locale            text        NOT NULL CHECK (locale <> ''),
    state             text        NOT NULL DEFAULT 'DRAFT'
                                  CHECK (state IN ('DRAFT', 'IN_REVIEW', 'PUBLISHED', 'ARCHIVED')),
    published_version integer     NOT NULL DEFAULT 0 CHECK (published_version >= 0),
    latest_version    integer     NOT NULL DEFAULT 0 CHECK (latest_version >= published_version),
    publish_time      timestamptz,
    author_id         text        NOT NULL DEFAULT '',
    helpful_count     bigint      NOT NULL DEFAULT 0,
    not_helpful_count bigint      NOT NULL DEFAULT 0,
    linked_case_count bigint      NOT NULL DEFAULT 0,
    version           bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time       timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id)
);
-- Keyset pages (ORDER BY create_time, id) with and without the equality filters.
CREATE INDEX kb_articles_create ON kb_articles (tenant_id, create_time, id);
CREATE INDEX kb_articles_state ON kb_articles (tenant_id, state, create_time, id);
CREATE INDEX kb_articles_locale ON kb_articles (tenant_id, locale, create_time, id);
CREATE INDEX kb_articles_category ON kb_articles (tenant_id, category, create_time, id);

CREATE TABLE kb_article_versions (
    tenant_id      text        NOT NULL,
    article_id     uuid        NOT NULL,
    version_number integer     NOT NULL CHECK (version_number >= 1),
    title          text        NOT NULL,
    body           text        NOT NULL,
    category       text        NOT NULL,
    locale         text        NOT NULL,
    -- The search language (the locale's primary subtag) and its text-search configuration.
    language       text        NOT NULL,
    search_config  regconfig   NOT NULL,
    -- Title words weigh A, body words B (ts_rank: 1.0 and 0.4).
    search         tsvector    GENERATED ALWAYS AS (setweight(to_tsvector(search_config, title), 'A') ||
                                                    setweight(to_tsvector(search_config, body), 'B')) STORED,
    live           boolean     NOT NULL DEFAULT false,
    published_by   text        NOT NULL DEFAULT '',
    publish_time   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, article_id, version_number),
    FOREIGN KEY (tenant_id, article_id) REFERENCES kb_articles (tenant_id, id)
);
-- The one live version of an article (the search joins its candidates here).
CREATE UNIQUE INDEX kb_article_versions_live ON kb_article_versions (tenant_id, article_id) WHERE live;

-- The distinct lexemes of each live version (maintained with `live` in the same transaction).
CREATE TABLE kb_search_terms (
    tenant_id  text NOT NULL,
    language   text NOT NULL,
    lexeme     text NOT NULL,
    article_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, language, lexeme, article_id),
    FOREIGN KEY (tenant_id, article_id) REFERENCES kb_articles (tenant_id, id)
);
-- Removing an article's terms (a new publication, archiving).
CREATE INDEX kb_search_terms_article ON kb_search_terms (tenant_id, article_id);

-- One vote per user and article (a new vote replaces the user's previous one).
CREATE TABLE kb_article_feedback (
    tenant_id   text        NOT NULL,
    article_id  uuid        NOT NULL,
    user_id     text        NOT NULL,
    helpful     boolean     NOT NULL,
    update_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, article_id, user_id),
    FOREIGN KEY (tenant_id, article_id) REFERENCES kb_articles (tenant_id, id)
);

-- Articles that answered a case (deflection).
CREATE TABLE kb_case_links (
    tenant_id      text        NOT NULL,
    case_id        uuid        NOT NULL,
    article_id     uuid        NOT NULL,
    version_number integer     NOT NULL,
    linked_by      text        NOT NULL DEFAULT '',
    create_time    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, case_id, article_id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id),
    FOREIGN KEY (tenant_id, article_id) REFERENCES kb_articles (tenant_id, id)
);
CREATE INDEX kb_case_links_article ON kb_case_links (tenant_id, article_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['kb_articles', 'kb_article_versions', 'kb_search_terms', 'kb_article_feedback',
                             'kb_case_links'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
