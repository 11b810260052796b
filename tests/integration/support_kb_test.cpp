// The knowledge base through the gateway: an article's life (draft, review, publication, edits while the published
// version stays live, archive) with every version kept and one ArticlePublished per publication; full-text search
// ranking the expected article first for a set of queries over a small realistic corpus in three languages, with
// snippets, categories and pages; suggestions for a case; votes (one per user) and links to cases; bad input on every
// RPC (each field named, nothing written), another tenant's ids, roles.
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "../support/events.hpp"
#include "../support/knowledge_client.hpp"
#include "../support/support_client.hpp"
#include "crm/support/events/v1/events.pb.h"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

std::string ManagerToken(const std::string& tenant, const std::string& user = "manager-1") {
    TokenSpec spec;
    spec.tenant = tenant;
    spec.user = user;
    spec.roles = {"support_manager", "support_agent"};
    return MintToken(spec);
}

std::string AgentToken(const std::string& tenant, const std::string& user) {
    TokenSpec spec;
    spec.tenant = tenant;
    spec.user = user;
    spec.roles = {"support_agent"};
    return MintToken(spec);
}

struct Doc {
    const char* key;
    const char* locale;
    const char* category;
    const char* title;
    const char* body;
};

// A help center's articles: topics overlap (passwords, accounts, billing), so the ranking has to choose.
const Doc kCorpus[] = {
    {"password", "en", "account", "How to reset your password",
     "If you forgot your password, open the sign-in page and click \"Forgot password\". We send a reset link to the "
     "e-mail address of your account; the link expires after 30 minutes. Choose a new password of at least 12 "
     "characters. Resetting the password signs you out on every device."},
    {"twofactor", "en", "account", "Set up two-factor authentication",
     "Two-factor authentication protects your account with a second step after the password: a six-digit code from "
     "an authenticator app. Open Settings > Security, scan the QR code and keep the recovery codes. If you lose your "
     "phone, use a recovery code to sign in."},
    {"email", "en", "account", "Change the e-mail address of your account",
     "To change your e-mail address, open Profile, enter the new address and confirm with your password. We send a "
     "confirmation message to the new address; the change applies once you open it."},
    {"delete", "en", "account", "Delete your account permanently",
     "Deleting your account removes your data after 30 days and cannot be undone. Export what you need first, then "
     "open Settings > Account > Delete and confirm with your password. Paid subscriptions end at deletion."},
    {"invoice", "en", "billing", "Download invoices as PDF",
     "Every invoice is available under Billing > Invoices. Select an invoice and click Download to get a PDF copy for "
     "your accounting. Invoices list the VAT number of your company when it is set in the billing profile."},
    {"refund", "en", "billing", "Request a refund",
     "We refund annual plans within 14 days of purchase. Open a support case with your invoice number and the reason; "
     "the refund reaches your card within 5 to 10 business days."},
    {"cancel", "en", "billing", "Cancel your subscription",
     "You can cancel your subscription at any time under Billing > Plan. The plan stays active until the end of the "
     "paid period; no further payments are taken. Cancelling does not delete your data."},
    {"declined", "en", "billing", "Payment failed: card declined",
     "When a payment fails, your bank declined the card: check the expiry date, the billing address and the card's "
     "limit, or add another card under Billing > Payment methods. We retry a failed payment three times."},
    {"export", "en", "data", "Export your contacts to CSV",
     "Open Contacts, choose the filter or segment to export and click Export. The CSV file uses UTF-8 and one column "
     "per field, custom fields included; large exports are e-mailed as a download link."},
    {"import", "en", "data", "Import contacts from a spreadsheet",
     "Upload a CSV or XLSX spreadsheet under Contacts > Import, map each column to a field and start the import. "
     "Duplicates are matched by e-mail address and merged."},
    {"ratelimit", "en", "developers", "API rate limits explained",
     "Each API key may send 100 requests per second with bursts of 200. A request over the limit gets HTTP 429 with a "
     "Retry-After header; back off and retry. Enterprise plans have higher limits."},
    {"calendar", "en", "integrations", "Connect Outlook and Google Calendar",
     "Meetings sync both ways once you connect a calendar: open Integrations, choose Outlook or Google Calendar and "
     "sign in. Events from the last 30 days and all future events are synchronised every five minutes."},
    {"passwort", "de", "account", "Passwort zurücksetzen",
     "Wenn Sie Ihr Passwort vergessen haben, klicken Sie auf der Anmeldeseite auf \"Passwort vergessen\". Wir senden "
     "Ihnen einen Link an Ihre E-Mail-Adresse."},
    {"rechnung", "de", "billing", "Rechnungen als PDF herunterladen",
     "Alle Rechnungen finden Sie unter Abrechnung > Rechnungen. Wählen Sie eine Rechnung und laden Sie sie als PDF "
     "herunter."},
    {"motdepasse", "fr", "account", "Réinitialiser votre mot de passe",
     "Si vous avez oublié votre mot de passe, cliquez sur « Mot de passe oublié » sur la page de connexion. Nous "
     "envoyons un lien de réinitialisation à votre adresse e-mail."},
};

}  // namespace

TEST_CASE("kb: an article's life: review, publication, edits, versions, archive, one event per publication",
          "[integration][support][kb]") {
    const std::string tenant = UniqueTenant("kb");
    KnowledgeClient kb(ManagerToken(tenant));
    EventTap tap("crm.support.v1");

    kbv1::CreateArticleRequest create;
    create.mutable_article()->set_title("  Reset your password ");
    create.mutable_article()->set_body("Click \"Forgot password\" on the sign-in page.");
    create.mutable_article()->set_category("Account");
    create.mutable_article()->set_locale("EN-us");
    create.mutable_article()->set_published_version(7);  // output only: ignored
    create.set_request_id("kb-create-1");
    auto created = kb.CreateArticle(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const kbv1::Article a = created.response.article();
    tap.Keep([&](const crm::common::v1::EventEnvelope& e) { return e.aggregate_id() == a.id(); });
    CHECK(a.title() == "Reset your password");
    CHECK(a.category() == "account");
    CHECK(a.locale() == "en-US");
    CHECK(a.state() == kbv1::ARTICLE_STATE_DRAFT);
    CHECK(a.published_version() == 0);
    CHECK(a.author_id() == "manager-1");
    auto again = kb.CreateArticle(create);  // a retry: the same article
    REQUIRE(again.ok());
    CHECK(again.response.article().id() == a.id());

    // No publication without review; a draft is not searchable.
    kbv1::ChangeArticleStateRequest publish;
    publish.set_id(a.id());
    publish.set_state(kbv1::ARTICLE_STATE_PUBLISHED);
    auto refused = kb.ChangeArticleState(publish);
    CHECK(refused.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(refused.status) == "TRANSITION_NOT_ALLOWED");
    CHECK(kb.MustSearch("password").empty());

    kb.MustChangeState(a.id(), kbv1::ARTICLE_STATE_IN_REVIEW);
    const kbv1::Article v1 = kb.MustChangeState(a.id(), kbv1::ARTICLE_STATE_PUBLISHED);
    CHECK(v1.state() == kbv1::ARTICLE_STATE_PUBLISHED);
    CHECK(v1.published_version() == 1);
    CHECK(v1.has_publish_time());
    CHECK(kb.MustChangeState(a.id(), kbv1::ARTICLE_STATE_PUBLISHED).version() == v1.version());  // retry: no change
    REQUIRE(kb.MustSearch("forgot password").size() == 1);

    // An edit brings the working copy back to DRAFT; version 1 stays live until version 2 is published.
    kbv1::UpdateArticleRequest update;
    update.mutable_article()->set_id(a.id());
    update.mutable_article()->set_body("Open the sign-in page and use the recovery link we e-mail you.");
    update.mutable_article()->set_etag(v1.etag());
    update.mutable_update_mask()->add_paths("body");
    auto updated = kb.UpdateArticle(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.article().state() == kbv1::ARTICLE_STATE_DRAFT);
    CHECK(updated.response.article().published_version() == 1);
    CHECK(kb.MustSearch("forgot").size() == 1);  // the live version 1
    CHECK(kb.MustSearch("recovery").empty());    // the draft is not live
    auto stale = kb.UpdateArticle(update);       // the etag of version 1 no longer matches
    CHECK(stale.status.error_code() == grpc::StatusCode::ABORTED);
    kb.MustPublish(a.id());
    CHECK(kb.MustSearch("forgot").empty());
    const auto live = kb.MustSearch("recovery");
    REQUIRE(live.size() == 1);
    CHECK(live[0].version_number() == 2);

    kbv1::ListArticleVersionsRequest versions;
    versions.set_article_id(a.id());
    auto listed = kb.ListArticleVersions(versions);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.versions_size() == 2);
    CHECK(listed.response.versions(0).version_number() == 2);
    CHECK(listed.response.versions(0).live());
    CHECK(listed.response.versions(1).version_number() == 1);
    CHECK_FALSE(listed.response.versions(1).live());
    CHECK(listed.response.versions(1).body() == "Click \"Forgot password\" on the sign-in page.");
    CHECK(listed.response.versions(1).published_by() == "manager-1");
    versions.set_page_size(1);  // pages of one, newest first
    auto first_page = kb.ListArticleVersions(versions);
    REQUIRE(first_page.ok());
    REQUIRE(first_page.response.versions_size() == 1);
    versions.set_page_token(first_page.response.next_page_token());
    auto second_page = kb.ListArticleVersions(versions);
    REQUIRE(second_page.ok());
    REQUIRE(second_page.response.versions_size() == 1);
    CHECK(second_page.response.versions(0).version_number() == 1);
    CHECK(second_page.response.next_page_token().empty());

    // Archived: out of search, read-only until it is a draft again.
    const kbv1::Article archived = kb.MustChangeState(a.id(), kbv1::ARTICLE_STATE_ARCHIVED);
    CHECK(archived.published_version() == 0);
    CHECK(archived.latest_version() == 2);
    CHECK(kb.MustSearch("recovery").empty());
    update.mutable_article()->set_etag("");
    auto edit_archived = kb.UpdateArticle(update);
    CHECK(edit_archived.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(edit_archived.status) == "ARTICLE_ARCHIVED");
    kb.MustChangeState(a.id(), kbv1::ARTICLE_STATE_DRAFT);
    CHECK(kb.MustPublish(a.id()).published_version() == 3);

    // Exactly one ArticlePublished per publication (versions 1, 2, 3), with the article's envelope.
    auto events = tap.WaitFor(tenant, 3, 30s);
    REQUIRE(events.size() == 3);
    for (int i = 0; i < 3; ++i) {
        const auto& env = events[i].envelope;
        CHECK(env.event_type() == "crm.support.events.v1.ArticlePublished");
        CHECK(env.aggregate_type() == "article");
        CHECK(env.tenant_id() == tenant);
        CHECK(events[i].key == a.id());
        crm::support::events::v1::ArticlePublished payload;
        REQUIRE(env.payload().UnpackTo(&payload));
        CHECK(payload.version_number() == i + 1);
        CHECK(payload.previous_version() == (i == 2 ? 0 : i));
        CHECK(payload.article().id() == a.id());
        CHECK(env.aggregate_version() == payload.article().version());
    }
}

TEST_CASE("kb: search ranks the expected article first, per language, with snippets, categories and pages",
          "[integration][support][kb]") {
    const std::string tenant = UniqueTenant("kbs");
    KnowledgeClient kb(ManagerToken(tenant));
    std::map<std::string, std::string> ids;  // corpus key -> article id
    for (const Doc& d : kCorpus) ids[d.key] = kb.MustCreatePublished(d.title, d.body, d.locale, d.category).id();
    kb.MustCreate("Reset your password (draft)", "password reset draft text");  // never published: never found

    struct Query {
        const char* text;
        const char* locale;
        const char* expected;
    };
    const Query queries[] = {
        {"reset password", "en", "password"},
        {"forgot my password", "en-GB", "password"},
        {"download invoice pdf", "", "invoice"},
        {"two-factor authentication code", "en", "twofactor"},
        {"cancel subscription", "en", "cancel"},
        {"refund", "en", "refund"},
        {"export contacts csv", "en", "export"},
        {"change e-mail address", "en", "email"},
        {"api rate limits 429", "en", "ratelimit"},
        {"delete my account", "en", "delete"},
        {"outlook calendar sync", "en", "calendar"},
        {"card declined payment", "en", "declined"},
        {"importing spreadsheets", "en", "import"},  // stemmed: importing -> import, spreadsheets -> spreadsheet
        {"Passwort vergessen", "de", "passwort"},
        {"Rechnung herunterladen", "de-AT", "rechnung"},  // stemmed: Rechnungen / Rechnung
        {"mot de passe oublié", "fr", "motdepasse"},
    };
    for (const auto& q : queries) {
        const auto hits = kb.MustSearch(q.text, q.locale);
        INFO("query: " << q.text);
        REQUIRE_FALSE(hits.empty());
        CHECK(hits[0].article_id() == ids[q.expected]);
        for (std::size_t i = 1; i < hits.size(); ++i) CHECK(hits[i - 1].rank() >= hits[i].rank());
    }

    // Snippets highlight the matched words and escape the body's markup.
    const auto hit = kb.MustSearch("recovery codes", "en");
    REQUIRE_FALSE(hit.empty());
    CHECK(hit[0].article_id() == ids["twofactor"]);
    CHECK(hit[0].snippet().find("<mark>recovery</mark>") != std::string::npos);
    CHECK(hit[0].snippet().find("Settings &gt; Security") != std::string::npos);

    // Languages do not mix; a category narrows; web-search syntax excludes; stop words alone match nothing.
    CHECK(kb.MustSearch("Passwort", "en").empty());
    const auto billing = kb.MustSearch("invoice", "en", "billing");
    REQUIRE_FALSE(billing.empty());
    for (const auto& h : billing) CHECK(h.category() == "billing");
    CHECK(kb.MustSearch("invoice", "en", "developers").empty());
    for (const auto& h : kb.MustSearch("password -reset", "en")) CHECK(h.article_id() != ids["password"]);
    CHECK(kb.MustSearch("the and of", "en").empty());

    // Pages of two walk the same order as one page of all.
    const auto all = kb.MustSearch("account", "en", "", 50);
    REQUIRE(all.size() >= 4);
    std::vector<std::string> walked;
    kbv1::SearchArticlesRequest page;
    page.set_query("account");
    page.set_locale("en");
    page.set_page_size(2);
    for (int guard = 0; guard < 20; ++guard) {
        auto r = kb.SearchArticles(page);
        REQUIRE(r.ok());
        for (const auto& h : r.response.hits()) walked.push_back(h.article_id());
        if (r.response.next_page_token().empty()) break;
        page.set_page_token(r.response.next_page_token());
    }
    std::vector<std::string> expected;
    for (const auto& h : all) expected.push_back(h.article_id());
    CHECK(walked == expected);
    page.set_query("other query");  // a token is only valid for its own query
    CHECK(kb.SearchArticles(page).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("kb: suggestions for a case, votes once per user, links to cases", "[integration][support][kb]") {
    const std::string tenant = UniqueTenant("kbf");
    KnowledgeClient kb(ManagerToken(tenant));
    SupportClient support(TokenFor(tenant));
    std::map<std::string, std::string> ids;
    for (const Doc& d : kCorpus) ids[d.key] = kb.MustCreatePublished(d.title, d.body, d.locale, d.category).id();
    const kbv1::Article draft = kb.MustCreate("Unpublished", "Not yet");

    spv1::CreateCaseRequest create;
    create.mutable_case_()->set_subject("Charged twice, I want my money back");
    create.mutable_case_()->set_description("The invoice shows two payments for the annual plan. Please refund one.");
    auto made = support.CreateCase(create);
    REQUIRE(made.ok());
    const std::string case_id = made.response.case_().id();
    kbv1::SuggestArticlesRequest suggest;
    suggest.set_case_id(case_id);
    auto suggested = kb.SuggestArticles(suggest);
    INFO(suggested.status.error_message());
    REQUIRE(suggested.ok());
    REQUIRE(suggested.response.hits_size() >= 1);
    CHECK(suggested.response.hits_size() <= 5);
    CHECK(suggested.response.hits(0).article_id() == ids["refund"]);
    create.mutable_case_()->set_subject("Kann mich nicht anmelden, Passwort vergessen");
    create.mutable_case_()->set_description("");
    create.mutable_case_()->set_language("de");
    auto german = support.CreateCase(create);
    REQUIRE(german.ok());
    suggest.set_case_id(german.response.case_().id());
    auto suggested_de = kb.SuggestArticles(suggest);
    REQUIRE(suggested_de.ok());
    REQUIRE(suggested_de.response.hits_size() >= 1);
    CHECK(suggested_de.response.hits(0).article_id() == ids["passwort"]);  // the case's language

    // Votes: one per user; a new vote replaces the user's previous one; a repeat changes nothing.
    KnowledgeClient ann(AgentToken(tenant, "agent-ann"));
    KnowledgeClient bob(AgentToken(tenant, "agent-bob"));
    kbv1::RateArticleRequest rate;
    rate.set_article_id(ids["refund"]);
    rate.set_helpful(true);
    REQUIRE(ann.RateArticle(rate).ok());
    auto twice = ann.RateArticle(rate);
    REQUIRE(twice.ok());
    CHECK(twice.response.article().helpful_count() == 1);
    CHECK(twice.response.article().not_helpful_count() == 0);
    rate.set_helpful(false);
    REQUIRE(bob.RateArticle(rate).ok());
    auto changed = ann.RateArticle(rate);
    REQUIRE(changed.ok());
    CHECK(changed.response.article().helpful_count() == 0);
    CHECK(changed.response.article().not_helpful_count() == 2);
    rate.set_article_id(draft.id());
    auto on_draft = ann.RateArticle(rate);
    CHECK(on_draft.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(on_draft.status) == "ARTICLE_NOT_PUBLISHED");

    // Links: idempotent, counted once per case, listed newest first.
    kbv1::LinkArticleToCaseRequest link;
    link.set_case_id(case_id);
    link.set_article_id(ids["refund"]);
    auto linked = ann.LinkArticleToCase(link);
    INFO(linked.status.error_message());
    REQUIRE(linked.ok());
    CHECK(linked.response.created());
    CHECK(linked.response.link().version_number() == 1);
    CHECK(linked.response.link().linked_by() == "agent-ann");
    auto relinked = bob.LinkArticleToCase(link);
    REQUIRE(relinked.ok());
    CHECK_FALSE(relinked.response.created());
    CHECK(relinked.response.link().linked_by() == "agent-ann");
    link.set_article_id(ids["invoice"]);
    REQUIRE(ann.LinkArticleToCase(link).ok());
    link.set_case_id(german.response.case_().id());
    link.set_article_id(ids["refund"]);
    REQUIRE(ann.LinkArticleToCase(link).ok());
    kbv1::GetArticleRequest get;
    get.set_id(ids["refund"]);
    CHECK(ann.GetArticle(get).response.article().linked_case_count() == 2);
    kbv1::ListCaseArticlesRequest list_links;
    list_links.set_case_id(case_id);
    auto links = ann.ListCaseArticles(list_links);
    REQUIRE(links.ok());
    REQUIRE(links.response.links_size() == 2);
    CHECK(links.response.links(0).article_id() == ids["invoice"]);
    CHECK(links.response.links(1).article_id() == ids["refund"]);
    CHECK(links.response.links(1).title() == "Request a refund");
    link.set_article_id(draft.id());
    CHECK(ErrorReason(ann.LinkArticleToCase(link).status) == "ARTICLE_NOT_PUBLISHED");
}

TEST_CASE("kb: bad input names every field and writes nothing", "[integration][support][kb]") {
    const std::string tenant = UniqueTenant("kbb");
    KnowledgeClient kb(ManagerToken(tenant));
    const std::string nul("x\0y", 3);

    kbv1::CreateArticleRequest create;
    create.mutable_article()->set_title(nul);
    create.mutable_article()->set_body(std::string(100001, 'b'));
    create.mutable_article()->set_category("Bad Slug!");
    create.mutable_article()->set_locale("not a locale");
    create.mutable_article()->set_etag("nonsense");
    create.set_request_id(std::string(65, 'r'));
    auto bad = kb.CreateArticle(create);
    CHECK(bad.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* f :
         {"article.title", "article.body", "article.category", "article.locale", "article.etag", "request_id"}) {
        CHECK(HasViolation(bad.status, f));
    }
    kbv1::CreateArticleRequest empty;
    auto missing = kb.CreateArticle(empty);
    CHECK(HasViolation(missing.status, "article.title"));
    CHECK(HasViolation(missing.status, "article.body"));

    kbv1::UpdateArticleRequest update;
    update.mutable_article()->set_id("not-a-uuid");
    update.mutable_article()->set_title("");
    update.mutable_update_mask()->add_paths("title");
    update.mutable_update_mask()->add_paths("state");
    auto bad_update = kb.UpdateArticle(update);
    CHECK(HasViolation(bad_update.status, "article.id"));
    CHECK(HasViolation(bad_update.status, "article.title"));
    CHECK(HasViolation(bad_update.status, "update_mask"));

    kbv1::ChangeArticleStateRequest change;
    change.set_id("");
    change.set_etag("v");
    auto bad_change = kb.ChangeArticleState(change);
    CHECK(HasViolation(bad_change.status, "id"));
    CHECK(HasViolation(bad_change.status, "state"));
    CHECK(HasViolation(bad_change.status, "etag"));

    kbv1::SearchArticlesRequest search;
    search.set_query(std::string(501, 'q'));
    search.set_locale(nul);
    search.set_category("Bad\tSlug");
    search.set_page_size(-1);
    auto bad_search = kb.SearchArticles(search);
    CHECK(HasViolation(bad_search.status, "page_size"));
    search.set_page_size(0);
    bad_search = kb.SearchArticles(search);
    CHECK(HasViolation(bad_search.status, "query"));
    CHECK(HasViolation(bad_search.status, "locale"));
    CHECK(HasViolation(bad_search.status, "category"));
    search.set_query("   ");
    search.clear_locale();
    search.clear_category();
    CHECK(HasViolation(kb.SearchArticles(search).status, "query"));

    kbv1::ListArticlesRequest list;
    list.set_state(static_cast<kbv1::ArticleState>(42));
    list.set_locale("x y");
    list.set_category("A B");
    auto bad_list = kb.ListArticles(list);
    CHECK(HasViolation(bad_list.status, "state"));
    CHECK(HasViolation(bad_list.status, "locale"));
    CHECK(HasViolation(bad_list.status, "category"));

    kbv1::SuggestArticlesRequest suggest;
    suggest.set_case_id("x");
    suggest.set_locale(nul);
    auto bad_suggest = kb.SuggestArticles(suggest);
    CHECK(HasViolation(bad_suggest.status, "case_id"));
    CHECK(HasViolation(bad_suggest.status, "locale"));
    kbv1::RateArticleRequest rate;
    CHECK(HasViolation(kb.RateArticle(rate).status, "article_id"));
    kbv1::LinkArticleToCaseRequest link;
    link.set_case_id(nul);
    auto bad_link = kb.LinkArticleToCase(link);
    CHECK(HasViolation(bad_link.status, "case_id"));
    CHECK(HasViolation(bad_link.status, "article_id"));
    kbv1::ListArticleVersionsRequest versions;
    CHECK(HasViolation(kb.ListArticleVersions(versions).status, "article_id"));
    kbv1::ListCaseArticlesRequest case_links;
    CHECK(HasViolation(kb.ListCaseArticles(case_links).status, "case_id"));

    CHECK(QueryScalar("support", "SELECT count(*) FROM kb_articles WHERE tenant_id = '" + tenant + "'") == "0");
}

TEST_CASE("kb: another tenant's ids are NOT_FOUND and agents cannot write articles", "[integration][support][kb]") {
    const std::string owner = UniqueTenant("kbo");
    const std::string other = UniqueTenant("kbx");
    KnowledgeClient mine(ManagerToken(owner));
    const kbv1::Article a = mine.MustCreatePublished("Owner's article", "Only the owner tenant sees this text.");
    SupportClient owner_support(TokenFor(owner));
    const spv1::Case owner_case = owner_support.MustCreateCase("Owner's case");

    KnowledgeClient theirs(ManagerToken(other));
    SupportClient other_support(TokenFor(other));
    const spv1::Case other_case = other_support.MustCreateCase("Other tenant's case");
    const kbv1::Article b = theirs.MustCreatePublished("Their article", "Text of the other tenant.");
    auto not_found = [](const grpc::Status& s) { return s.error_code() == grpc::StatusCode::NOT_FOUND; };
    kbv1::GetArticleRequest get;
    get.set_id(a.id());
    CHECK(not_found(theirs.GetArticle(get).status));
    kbv1::UpdateArticleRequest update;
    update.mutable_article()->set_id(a.id());
    update.mutable_article()->set_title("stolen");
    CHECK(not_found(theirs.UpdateArticle(update).status));
    kbv1::ChangeArticleStateRequest change;
    change.set_id(a.id());
    change.set_state(kbv1::ARTICLE_STATE_ARCHIVED);
    CHECK(not_found(theirs.ChangeArticleState(change).status));
    kbv1::ListArticleVersionsRequest versions;
    versions.set_article_id(a.id());
    CHECK(not_found(theirs.ListArticleVersions(versions).status));
    kbv1::RateArticleRequest rate;
    rate.set_article_id(a.id());
    CHECK(not_found(theirs.RateArticle(rate).status));
    kbv1::LinkArticleToCaseRequest link;
    link.set_case_id(other_case.id());
    link.set_article_id(a.id());
    CHECK(not_found(theirs.LinkArticleToCase(link).status));
    link.set_case_id(owner_case.id());
    link.set_article_id(b.id());
    CHECK(not_found(theirs.LinkArticleToCase(link).status));
    kbv1::SuggestArticlesRequest suggest;
    suggest.set_case_id(owner_case.id());
    CHECK(not_found(theirs.SuggestArticles(suggest).status));
    kbv1::ListCaseArticlesRequest case_links;
    case_links.set_case_id(owner_case.id());
    CHECK(not_found(theirs.ListCaseArticles(case_links).status));
    CHECK(theirs.MustSearch("owner tenant").empty());
    kbv1::ListArticlesRequest list;
    auto listed = theirs.ListArticles(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.articles_size() == 1);
    CHECK(listed.response.articles(0).id() == b.id());
    CHECK(mine.GetArticle(get).response.article().title() == "Owner's article");  // unchanged

    // Roles: agents read and search; writing articles is for support managers.
    KnowledgeClient agent(AgentToken(owner, "agent-1"));
    kbv1::CreateArticleRequest create;
    create.mutable_article()->set_title("t");
    create.mutable_article()->set_body("b");
    CHECK(agent.CreateArticle(create).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    change.set_state(kbv1::ARTICLE_STATE_ARCHIVED);
    CHECK(agent.ChangeArticleState(change).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(agent.GetArticle(get).ok());
    CHECK(agent.MustSearch("owner tenant").size() == 1);
    KnowledgeClient rep(MintToken({.tenant = owner, .user = "rep", .roles = {"sales_rep"}}));
    kbv1::SearchArticlesRequest search;
    search.set_query("owner");
    CHECK(rep.SearchArticles(search).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
}
