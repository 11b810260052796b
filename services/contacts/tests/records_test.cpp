#include "domain/records.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace crm::contacts::domain;

namespace {

const NormalizeSettings kUs{.default_calling_code = "1"};

bool HasViolation(const crm::common::Violations& violations, std::string_view field) {
    return violations.Has(std::string(field));
}

}  // namespace

TEST_CASE("a full contact is normalized", "[records]") {
    ContactFields input;
    input.given_name = "  José ";
    input.family_name = "Müller   Lüdenscheidt";
    input.email = " Jose.Mueller@Example.DE ";
    input.phone = "(415) 555-2671";
    input.job_title = " Head of  Sales ";
    input.company_id = "7B0E4A52-8D0E-4C3C-9A55-1C1B7F1F0A01";
    input.owner_id = " user-42 ";
    input.tags = {"VIP", " vip ", "B2B"};
    input.custom_fields = {{"size", " 12 "}, {"empty", ""}};

    const ContactCheck check = NormalizeContact(input, kUs);
    REQUIRE(check.violations.empty());
    const ContactFields& c = check.contact;
    CHECK(c.given_name == "José");
    CHECK(c.family_name == "Müller Lüdenscheidt");
    CHECK(c.email == "jose.mueller@example.de");
    CHECK(c.phone == "+14155552671");
    CHECK(c.job_title == "Head of Sales");
    CHECK(c.company_id == "7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01");
    CHECK(c.owner_id == "user-42");
    CHECK(c.tags == std::vector<std::string>{"vip", "b2b"});
    CHECK(c.custom_fields == CustomFields{{"size", "12"}});
    // Normalizing a normalized contact changes nothing.
    const ContactCheck again = NormalizeContact(c, kUs);
    CHECK(again.violations.empty());
    CHECK(again.contact == c);
}

TEST_CASE("a contact needs a name or an email", "[records]") {
    CHECK(HasViolation(NormalizeContact(ContactFields{}, kUs).violations, "contact.given_name"));
    ContactFields blank;
    blank.given_name = "   ";
    blank.family_name = "\t";
    CHECK(HasViolation(NormalizeContact(blank, kUs).violations, "contact.given_name"));
    ContactFields only_family;
    only_family.family_name = "Lee";
    CHECK(NormalizeContact(only_family, kUs).violations.empty());
    ContactFields only_email;
    only_email.email = "a@b.co";
    CHECK(NormalizeContact(only_email, kUs).violations.empty());
    // A duplicate-search candidate may consist of a phone number alone.
    ContactFields only_phone;
    only_phone.phone = "+14155552671";
    CHECK(HasViolation(NormalizeContact(only_phone, kUs).violations, "contact.given_name"));
    CHECK(NormalizeContact(only_phone, kUs, "candidate", false).violations.empty());
}

TEST_CASE("every invalid field is reported at once with its path", "[records]") {
    ContactFields input;
    input.given_name = std::string(201, 'x');
    input.family_name = "Bad\x01Name";
    input.email = "not-an-email";
    input.phone = "555-CALL";
    input.job_title = std::string(201, 'y');
    input.company_id = "acme";
    input.owner_id = "two words";
    input.tags = {"ok", "", "#bad"};
    input.custom_fields = {{"Bad Key", "v"}};

    const auto violations = NormalizeContact(input, kUs, "candidate").violations;
    for (const char* field : {"candidate.given_name", "candidate.family_name", "candidate.email", "candidate.phone",
                              "candidate.job_title", "candidate.company_id", "candidate.owner_id", "candidate.tags[1]",
                              "candidate.tags[2]", "candidate.custom_fields.Bad Key"}) {
        INFO(field);
        CHECK(HasViolation(violations, field));
    }
    CHECK(violations.size() == 10);
}

TEST_CASE("contact limits", "[records]") {
    ContactFields input;
    input.given_name = std::string(200, 'x');
    input.family_name = std::string(200, 'y');
    CHECK(NormalizeContact(input, kUs).violations.empty());

    // 200 characters of two bytes each is still within the limit.
    input.given_name.clear();
    for (int i = 0; i < 200; ++i) input.given_name += "é";
    CHECK(NormalizeContact(input, kUs).violations.empty());
    input.given_name += "é";
    CHECK(HasViolation(NormalizeContact(input, kUs).violations, "contact.given_name"));

    ContactFields tagged;
    tagged.given_name = "A";
    for (int i = 0; i < 50; ++i) tagged.tags.push_back("t" + std::to_string(i));
    CHECK(NormalizeContact(tagged, kUs).violations.empty());
    tagged.tags.push_back("t0");  // a repeat does not count
    CHECK(NormalizeContact(tagged, kUs).violations.empty());
    tagged.tags.push_back("t50");
    CHECK(HasViolation(NormalizeContact(tagged, kUs).violations, "contact.tags"));

    ContactFields owner;
    owner.given_name = "A";
    owner.owner_id = std::string(128, 'u');
    CHECK(NormalizeContact(owner, kUs).violations.empty());
    owner.owner_id += "u";
    CHECK(HasViolation(NormalizeContact(owner, kUs).violations, "contact.owner_id"));
}

TEST_CASE("phones without a default calling code must be international", "[records]") {
    ContactFields input;
    input.given_name = "A";
    input.phone = "(415) 555-2671";
    CHECK(HasViolation(NormalizeContact(input, NormalizeSettings{}).violations, "contact.phone"));
    input.phone = "+1 (415) 555-2671";
    CHECK(NormalizeContact(input, NormalizeSettings{}).contact.phone == "+14155552671");
}

TEST_CASE("companies", "[records]") {
    CompanyFields input;
    input.name = "  Acme   Corp ";
    input.domain = "https://www.ACME.com/about";
    input.industry = " Manufacturing ";
    input.tags = {"Key Account"};
    const CompanyCheck check = NormalizeCompany(input);
    REQUIRE(check.violations.empty());
    CHECK(check.company.name == "Acme Corp");
    CHECK(check.company.domain == "acme.com");
    CHECK(check.company.industry == "Manufacturing");
    CHECK(check.company.tags == std::vector<std::string>{"key account"});

    CHECK(HasViolation(NormalizeCompany(CompanyFields{}).violations, "company.name"));
    CompanyFields bad;
    bad.name = "X";
    bad.domain = "not a domain";
    bad.industry = std::string(201, 'i');
    const auto violations = NormalizeCompany(bad).violations;
    CHECK(HasViolation(violations, "company.domain"));
    CHECK(HasViolation(violations, "company.industry"));
}

TEST_CASE("display names", "[records]") {
    ContactFields c;
    c.given_name = "Ann";
    c.family_name = "Lee";
    c.email = "ann@x.com";
    CHECK(DisplayName(c) == "Ann Lee");
    c.family_name.clear();
    CHECK(DisplayName(c) == "Ann");
    c.given_name.clear();
    c.family_name = "Lee";
    CHECK(DisplayName(c) == "Lee");
    c.family_name.clear();
    CHECK(DisplayName(c) == "ann@x.com");
}
