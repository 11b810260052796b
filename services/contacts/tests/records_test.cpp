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

TEST_CASE("a NUL or another control character is refused in every text field, naming it", "[records]") {
    const std::string nul("x\0y", 3);
    ContactFields contact;
    contact.given_name = nul;
    contact.family_name = "a\x7f";
    contact.email = nul + "@example.com";
    contact.phone = "+1415555" + nul;
    contact.job_title = "\x1b[31m";
    contact.company_id = nul;
    contact.owner_id = nul;
    contact.tags = {nul};
    contact.custom_fields = {{"notes", nul}};
    const auto violations = NormalizeContact(contact, kUs).violations;
    for (const char* field :
         {"contact.given_name", "contact.family_name", "contact.email", "contact.phone", "contact.job_title",
          "contact.company_id", "contact.owner_id", "contact.tags[0]", "contact.custom_fields.notes"}) {
        INFO(field);
        CHECK(HasViolation(violations, field));
    }
    CHECK(violations.size() == 9);

    CompanyFields company;
    company.name = nul;
    company.domain = "acme" + nul + ".com";
    company.industry = nul;
    company.owner_id = nul;
    company.tags = {nul};
    company.custom_fields = {{"tier", nul}};
    const auto company_violations = NormalizeCompany(company).violations;
    for (const char* field : {"company.name", "company.domain", "company.industry", "company.owner_id",
                              "company.tags[0]", "company.custom_fields.tier"}) {
        INFO(field);
        CHECK(HasViolation(company_violations, field));
    }

    // Tabs and line breaks in names are whitespace: collapsed, not refused.
    ContactFields spaced;
    spaced.given_name = "Ann\tMarie\nLee";
    const ContactCheck check = NormalizeContact(spaced, kUs);
    CHECK(check.violations.empty());
    CHECK(check.contact.given_name == "Ann Marie Lee");
}

TEST_CASE("an update's patch is swept for control characters, whatever its mask", "[records]") {
    const std::string nul("x\0y", 3);
    ContactFields patch;
    patch.given_name = "Ann\tLee";  // whitespace, fine
    patch.email = "not an email";   // a syntax problem is not this check's business
    patch.job_title = nul;
    patch.tags = {"ok", nul};
    patch.custom_fields = {{"notes", "line 1\nline 2"}, {"size", "1\x01"}, {std::string("k\0", 2), "v"}};
    crm::common::Violations violations;
    RefuseControlCharacters(violations, patch, "contact");
    CHECK(HasViolation(violations, "contact.job_title"));
    CHECK(HasViolation(violations, "contact.tags[1]"));
    CHECK(HasViolation(violations, "contact.custom_fields.size"));
    CHECK(HasViolation(violations, "contact.custom_fields"));
    CHECK(violations.size() == 4);

    CompanyFields company;
    company.industry = nul;
    crm::common::Violations company_violations;
    RefuseControlCharacters(company_violations, company, "company");
    CHECK(HasViolation(company_violations, "company.industry"));
    CHECK(company_violations.size() == 1);
    crm::common::Violations clean;
    RefuseControlCharacters(clean, CompanyFields{.name = "Acme", .domain = "acme.com"}, "company");
    CHECK(clean.empty());
}

TEST_CASE("etags a client sends back", "[records]") {
    for (const char* ok : {"", "v1", "v42", "v9223372036854775807"}) {
        crm::common::Violations violations;
        CheckEtagSyntax(violations, ok, "etag");
        INFO(ok);
        CHECK(violations.empty());
    }
    for (const std::string& bad :
         {std::string("\"999\""), std::string("v"), std::string("V1"), std::string("v1 "), std::string("1"),
          std::string("v-1"), std::string("v1\0", 3), std::string("v99999999999999999999")}) {
        crm::common::Violations violations;
        CheckEtagSyntax(violations, bad, "contact.etag");
        INFO(bad);
        CHECK(HasViolation(violations, "contact.etag"));
    }
}

TEST_CASE("list filters", "[records]") {
    crm::common::Violations violations;
    CHECK(NormalizeTagFilter(violations, "", "tag").empty());
    CHECK(NormalizeTagFilter(violations, " VIP  Gold ", "tag") == "vip gold");
    CHECK(NormalizeOwnerFilter(violations, " user-1 ", "owner_id") == "user-1");
    CHECK(violations.empty());
    NormalizeTagFilter(violations, "#bad", "tag");
    NormalizeOwnerFilter(violations, std::string("u\0", 2), "owner_id");
    CHECK(HasViolation(violations, "tag"));
    CHECK(HasViolation(violations, "owner_id"));
    crm::common::Violations long_owner;
    NormalizeOwnerFilter(long_owner, std::string(129, 'u'), "owner_id");
    CHECK(HasViolation(long_owner, "owner_id"));
}

TEST_CASE("a company name is required unless the caller says otherwise", "[records]") {
    CHECK(HasViolation(NormalizeCompany(CompanyFields{}).violations, "company.name"));
    CHECK(NormalizeCompany(CompanyFields{}, "company", false).violations.empty());
}
