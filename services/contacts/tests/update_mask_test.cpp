#include "domain/update_mask.hpp"

#include <catch2/catch.hpp>

using namespace crm::contacts::domain;
using Paths = std::vector<std::string>;

TEST_CASE("update mask paths are checked", "[update_mask]") {
    CHECK(ValidateUpdateMask(MaskedEntity::kContact, {}).empty());
    CHECK(ValidateUpdateMask(MaskedEntity::kContact, {"*"}).empty());
    CHECK(ValidateUpdateMask(MaskedEntity::kContact,
                             {"given_name", "family_name", "email", "phone", "job_title", "company_id", "owner_id",
                              "tags", "custom_fields", "custom_fields.size"})
              .empty());
    CHECK(ValidateUpdateMask(MaskedEntity::kCompany,
                             {"name", "domain", "industry", "owner_id", "tags", "custom_fields", "custom_fields.tier"})
              .empty());

    for (const char* bad :
         {"id", "etag", "version", "state", "email_consent", "create_time", "merged_into_id", "display_name", "name",
          "custom_fields.", "custom_fields.Bad", "tags.0", "EMAIL", " email"}) {
        INFO(bad);
        const auto violations = ValidateUpdateMask(MaskedEntity::kContact, {bad});
        REQUIRE(violations.size() == 1);
        CHECK(violations.list()[0].field == "update_mask");
    }
    CHECK(ValidateUpdateMask(MaskedEntity::kCompany, {"email"}).size() == 1);
    CHECK(ValidateUpdateMask(MaskedEntity::kContact, {"*", "email"}).size() == 1);
}

TEST_CASE("effective masks", "[update_mask]") {
    ContactFields patch;
    patch.email = "new@x.com";
    patch.tags = {"a"};
    patch.custom_fields = {{"size", "3"}, {"tier", ""}};
    SECTION("an explicit mask is used as given") { CHECK(EffectiveContactMask({"phone"}, patch) == Paths{"phone"}); }
    SECTION("an empty mask means the non-empty fields, custom fields per key") {
        CHECK(EffectiveContactMask({}, patch) == Paths{"email", "tags", "custom_fields.size", "custom_fields.tier"});
    }
    SECTION("a wildcard means every field") {
        CHECK(EffectiveContactMask({"*"}, patch) == Paths{"given_name", "family_name", "email", "phone", "job_title",
                                                          "company_id", "owner_id", "tags", "custom_fields"});
        CHECK(EffectiveCompanyMask({"*"}, CompanyFields{}) ==
              Paths{"name", "domain", "industry", "owner_id", "tags", "custom_fields"});
    }
}

TEST_CASE("masks are applied field by field", "[update_mask]") {
    ContactFields current;
    current.given_name = "Ann";
    current.family_name = "Lee";
    current.email = "ann@x.com";
    current.tags = {"old"};
    current.custom_fields = {{"size", "1"}, {"tier", "gold"}, {"vip", "true"}};

    ContactFields patch;
    patch.given_name = "Anne";
    patch.email = "";
    patch.tags = {"new"};
    patch.custom_fields = {{"size", "2"}, {"tier", ""}};

    SECTION("only masked fields change; an empty value clears") {
        const ContactFields result = ApplyContactMask(current, patch, {"given_name", "email"});
        CHECK(result.given_name == "Anne");
        CHECK(result.family_name == "Lee");
        CHECK(result.email.empty());
        CHECK(result.tags == std::vector<std::string>{"old"});
    }
    SECTION("custom_fields.<key> sets or removes one key") {
        const ContactFields result =
            ApplyContactMask(current, patch, {"custom_fields.size", "custom_fields.tier", "custom_fields.absent"});
        CHECK(result.custom_fields == CustomFields{{"size", "2"}, {"vip", "true"}});
    }
    SECTION("custom_fields replaces the map") {
        const ContactFields result = ApplyContactMask(current, patch, {"custom_fields", "tags"});
        CHECK(result.custom_fields == patch.custom_fields);
        CHECK(result.tags == std::vector<std::string>{"new"});
    }
    SECTION("the implied mask of an empty mask keeps unsent keys") {
        const ContactFields result = ApplyContactMask(current, patch, EffectiveContactMask({}, patch));
        CHECK(result.given_name == "Anne");
        CHECK(result.email == "ann@x.com");
        CHECK(result.custom_fields == CustomFields{{"size", "2"}, {"vip", "true"}});
    }
    SECTION("companies") {
        CompanyFields company;
        company.name = "Acme";
        company.industry = "Retail";
        CompanyFields company_patch;
        company_patch.name = "Acme Inc";
        const CompanyFields result = ApplyCompanyMask(company, company_patch, {"name"});
        CHECK(result.name == "Acme Inc");
        CHECK(result.industry == "Retail");
    }
}

TEST_CASE("changed paths", "[update_mask]") {
    ContactFields before;
    before.given_name = "Ann";
    before.tags = {"a"};
    before.custom_fields = {{"size", "1"}, {"tier", "gold"}};
    ContactFields after = before;
    CHECK(ChangedContactPaths(before, after).empty());
    after.given_name = "Anne";
    after.phone = "+14155552671";
    after.tags = {"a", "b"};
    after.custom_fields = {{"size", "2"}, {"vip", "true"}};
    CHECK(ChangedContactPaths(before, after) ==
          Paths{"given_name", "phone", "tags", "custom_fields.size", "custom_fields.tier", "custom_fields.vip"});
    CompanyFields company_before;
    CompanyFields company_after;
    company_after.domain = "acme.com";
    CHECK(ChangedCompanyPaths(company_before, company_after) == Paths{"domain"});
}

TEST_CASE("masks that touch custom fields", "[update_mask]") {
    CHECK(MaskTouchesCustomFields({"email", "custom_fields"}));
    CHECK(MaskTouchesCustomFields({"custom_fields.size"}));
    CHECK_FALSE(MaskTouchesCustomFields({"email", "tags"}));
    CHECK_FALSE(MaskTouchesCustomFields({}));
}
