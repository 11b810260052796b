// Keyset pagination over 1,000 contacts, list filters and prefix search.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "../support/contacts_client.hpp"

using namespace crm::test;

TEST_CASE("contacts: paging over 1,000 contacts has no gaps or repeats", "[integration][contacts][paging]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    // Created by 4 concurrent writers (each with its own client), as several users of one tenant would.
    std::set<std::string> created;
    std::mutex mutex;
    std::atomic<int> failures{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            ContactsClient client(api.token());
            for (int i = w; i < 1000; i += 4) {
                cv1::CreateContactRequest req;
                req.mutable_contact()->set_given_name("Person" + std::to_string(i));
                req.mutable_contact()->set_family_name("Pager");
                auto r = client.CreateContact(req);
                if (!r.ok()) {
                    failures.fetch_add(1);
                    continue;
                }
                std::lock_guard lock(mutex);
                created.insert(r.response.contact().id());
            }
        });
    }
    for (auto& w : writers) w.join();
    REQUIRE(failures.load() == 0);
    REQUIRE(created.size() == 1000);

    std::set<std::string> seen;
    std::vector<std::string> order;
    cv1::ListContactsRequest req;
    req.set_page_size(37);
    int pages = 0;
    do {
        auto page = api.ListContacts(req);
        INFO(page.status.error_message());
        REQUIRE(page.ok());
        REQUIRE(page.response.contacts_size() <= 37);
        for (const auto& c : page.response.contacts()) {
            CHECK(seen.insert(c.id()).second);  // no repeats
            order.push_back(c.id());
        }
        req.set_page_token(page.response.next_page_token());
        ++pages;
        REQUIRE(pages <= 30);
    } while (!req.page_token().empty());
    CHECK(pages == 28);      // 27 full pages of 37 and one of 1
    CHECK(seen == created);  // no gaps

    {  // the order is stable across two walks
        std::vector<std::string> again;
        cv1::ListContactsRequest r2;
        r2.set_page_size(500);
        do {
            auto page = api.ListContacts(r2);
            REQUIRE(page.ok());
            for (const auto& c : page.response.contacts()) again.push_back(c.id());
            r2.set_page_token(page.response.next_page_token());
        } while (!r2.page_token().empty());
        CHECK(again == order);
    }

    {  // page_size above the cap is capped at 500, 0 means 50
        cv1::ListContactsRequest big;
        big.set_page_size(100000);
        CHECK(api.ListContacts(big).response.contacts_size() == 500);
        cv1::ListContactsRequest def;
        CHECK(api.ListContacts(def).response.contacts_size() == 50);
    }

    {  // a page token used with other filters is refused
        cv1::ListContactsRequest first;
        first.set_page_size(10);
        auto page = api.ListContacts(first);
        REQUIRE(page.ok());
        cv1::ListContactsRequest other;
        other.set_page_token(page.response.next_page_token());
        other.set_tag("vip");
        auto refused = api.ListContacts(other);
        CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(refused.status, "page_token"));
    }

    // Search pages come in the list's order whatever the prefix's breadth: a broad prefix is answered from the next
    // contacts in order, a narrow one by collecting its matches, and a prefix in between switches from the first
    // way to the second along its pages (the window of the first way is 950 contacts at a page size of 37).
    std::map<std::string, std::string> name_of;
    {
        cv1::ListContactsRequest all;
        all.set_page_size(500);
        do {
            auto page = api.ListContacts(all);
            REQUIRE(page.ok());
            for (const auto& c : page.response.contacts()) name_of[c.id()] = c.given_name();
            all.set_page_token(page.response.next_page_token());
        } while (!all.page_token().empty());
    }
    const auto search_all = [&](const std::string& query) {
        std::vector<std::string> ids;
        cv1::SearchContactsRequest sreq;
        sreq.set_query(query);
        sreq.set_page_size(37);
        int pages = 0;
        do {
            auto page = api.SearchContacts(sreq);
            INFO(query << ": " << page.status.error_message());
            REQUIRE(page.ok());
            REQUIRE(page.response.contacts_size() <= 37);
            for (const auto& c : page.response.contacts()) ids.push_back(c.id());
            sreq.set_page_token(page.response.next_page_token());
            REQUIRE(++pages <= 40);
        } while (!sreq.page_token().empty());
        return ids;
    };
    const auto expected = [&](const std::string& given_prefix) {
        std::vector<std::string> ids;
        for (const auto& id : order) {
            if (name_of[id].rfind(given_prefix, 0) == 0) ids.push_back(id);
        }
        return ids;
    };
    CHECK(search_all("pager") == order);                          // every contact: broad
    CHECK(search_all("person1") == expected("Person1"));          // 111 of 1,000: the window, then every match
    CHECK(search_all("person99") == expected("Person99"));        // 11: every match
    CHECK(search_all("person99 pager") == expected("Person99"));  // two terms
    CHECK(search_all("person1000").empty());
    // A match beyond the window (created last, 1,001st in order) is found all the same.
    const cv1::Contact late = api.MustCreate("Latecomer", "Pager", "", "");
    CHECK(search_all("latecomer") == std::vector<std::string>{late.id()});
}

TEST_CASE("contacts: list filters by tag, owner and company", "[integration][contacts]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    cv1::CreateCompanyRequest co;
    co.mutable_company()->set_name("Globex");
    auto company = api.CreateCompany(co);
    REQUIRE(company.ok());
    for (int i = 0; i < 6; ++i) {
        cv1::CreateContactRequest req;
        req.mutable_contact()->set_given_name("F" + std::to_string(i));
        if (i % 2 == 0) req.mutable_contact()->add_tags("vip");
        if (i % 3 == 0) req.mutable_contact()->set_owner_id("owner-1");
        if (i < 2) req.mutable_contact()->set_company_id(company.response.company().id());
        REQUIRE(api.CreateContact(req).ok());
    }
    cv1::ListContactsRequest by_tag;
    by_tag.set_tag("vip");
    CHECK(api.ListContacts(by_tag).response.contacts_size() == 3);
    cv1::ListContactsRequest by_owner;
    by_owner.set_owner_id("owner-1");
    CHECK(api.ListContacts(by_owner).response.contacts_size() == 2);
    cv1::ListContactsRequest by_company;
    by_company.set_company_id(company.response.company().id());
    CHECK(api.ListContacts(by_company).response.contacts_size() == 2);
    cv1::ListContactsRequest since;
    since.mutable_updated_after()->set_seconds(std::time(nullptr) + 3600);
    CHECK(api.ListContacts(since).response.contacts_size() == 0);
}

TEST_CASE("contacts: search by name prefix and by whole e-mail or phone number", "[integration][contacts][search]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    api.MustCreate("Margaret", "Hamilton", "margaret@nasa.example", "+1 617 555 0100");
    api.MustCreate("Katherine", "Johnson", "kj@nasa.example", "+1 757 555 0199");
    api.MustCreate("Mary", "Jackson", "mary.jackson@langley.example", "");

    auto search = [&](const std::string& q) {
        cv1::SearchContactsRequest req;
        req.set_query(q);
        auto r = api.SearchContacts(req);
        INFO(q << ": " << r.status.error_message());
        REQUIRE(r.ok());
        std::set<std::string> names;
        for (const auto& c : r.response.contacts()) names.insert(c.given_name());
        return names;
    };
    CHECK(search("mar") == std::set<std::string>{"Margaret", "Mary"});
    CHECK(search("Ham") == std::set<std::string>{"Margaret"});
    // E-mail and phone are stored sealed (docs/privacy.md): found by their blind index, so only whole, in any case or
    // spelling of the number; a prefix of them finds nothing.
    CHECK(search("KJ@nasa.example") == std::set<std::string>{"Katherine"});
    CHECK(search("+1 (757) 555-0199") == std::set<std::string>{"Katherine"});
    CHECK(search("001 757 555 0199") == std::set<std::string>{"Katherine"});
    CHECK(search("kj@").empty());
    CHECK(search("+1757").empty());
    // A further term matches a name prefix or the whole e-mail.
    CHECK(search("mar mary.jackson@langley.example") == std::set<std::string>{"Mary"});
    CHECK(search("mar kj@nasa.example").empty());
    CHECK(search("zzz").empty());
}
