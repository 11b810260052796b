#include "domain/custom_fields.hpp"

#include <catch2/catch.hpp>

using namespace crm::contacts::domain;

namespace {

CustomFieldDefinition Def(std::string key, CustomFieldType type, bool required = false,
                          std::vector<std::string> allowed = {}) {
    return CustomFieldDefinition{.entity = CustomFieldEntity::kContact,
                                 .key = std::move(key),
                                 .label = "Label",
                                 .type = type,
                                 .required = required,
                                 .allowed_values = std::move(allowed)};
}

std::vector<CustomFieldDefinition> Definitions() {
    return {Def("notes", CustomFieldType::kText), Def("size", CustomFieldType::kNumber),
            Def("vip", CustomFieldType::kBoolean), Def("birthday", CustomFieldType::kDate),
            Def("tier", CustomFieldType::kSingleSelect, false, {"gold", "silver", "Bronze plus"})};
}

}  // namespace

TEST_CASE("custom field keys", "[custom_fields]") {
    CHECK(IsValidCustomFieldKey("a"));
    CHECK(IsValidCustomFieldKey("annual_revenue_2024"));
    CHECK(IsValidCustomFieldKey("a" + std::string(62, 'b')));
    CHECK_FALSE(IsValidCustomFieldKey("a" + std::string(63, 'b')));
    CHECK_FALSE(IsValidCustomFieldKey(""));
    CHECK_FALSE(IsValidCustomFieldKey("1abc"));
    CHECK_FALSE(IsValidCustomFieldKey("_abc"));
    CHECK_FALSE(IsValidCustomFieldKey("Abc"));
    CHECK_FALSE(IsValidCustomFieldKey("ab-c"));
    CHECK_FALSE(IsValidCustomFieldKey("ab.c"));
    CHECK_FALSE(IsValidCustomFieldKey("ab c"));
}

TEST_CASE("decimal numbers", "[custom_fields]") {
    for (const char* ok : {"0", "42", "-3.25", "+0.5", "007", "123456789012345678901234567890"}) {
        INFO(ok);
        CHECK(IsDecimalNumber(ok));
    }
    for (const char* bad : {"", "-", "+", ".5", "5.", "1.2.3", "1e5", "0x10", " 1", "1,5", "NaN", "inf", "--1",
                            "12345678901234567890123456789012345678901"}) {
        INFO(bad);
        CHECK_FALSE(IsDecimalNumber(bad));
    }
}

TEST_CASE("booleans", "[custom_fields]") {
    CHECK(IsBooleanLiteral("true"));
    CHECK(IsBooleanLiteral("false"));
    CHECK_FALSE(IsBooleanLiteral("True"));
    CHECK_FALSE(IsBooleanLiteral("1"));
    CHECK_FALSE(IsBooleanLiteral("yes"));
    CHECK_FALSE(IsBooleanLiteral(""));
}

TEST_CASE("calendar dates", "[custom_fields]") {
    for (const char* ok : {"2024-02-29", "2000-02-29", "2023-12-31", "0001-01-01", "9999-12-31", "2023-04-30"}) {
        INFO(ok);
        CHECK(IsCalendarDate(ok));
    }
    for (const char* bad :
         {"2023-02-29", "1900-02-29", "2023-04-31", "2023-13-01", "2023-00-10", "2023-01-00", "0000-01-01", "2023-1-01",
          "2023/01/01", "20230101", "2023-01-01T00:00", "abcd-ef-gh", ""}) {
        INFO(bad);
        CHECK_FALSE(IsCalendarDate(bad));
    }
}

TEST_CASE("values are checked against their definitions", "[custom_fields]") {
    const auto defs = Definitions();
    SECTION("valid values pass") {
        const CustomFields values = {{"notes", "anything at all"},
                                     {"size", "-12.50"},
                                     {"vip", "true"},
                                     {"birthday", "1990-07-15"},
                                     {"tier", "Bronze plus"}};
        CHECK(ValidateCustomFields(values, defs, "contact", true).empty());
    }
    SECTION("each wrong value is reported under its path") {
        const CustomFields values = {
            {"size", "big"}, {"vip", "yes"}, {"birthday", "1990-02-30"}, {"tier", "platinum"}, {"color", "red"}};
        const auto violations = ValidateCustomFields(values, defs, "contact", true);
        REQUIRE(violations.size() == 5);
        // The map is sorted by key, so the order is deterministic.
        CHECK(violations.list()[0].field == "contact.custom_fields.birthday");
        CHECK(violations.list()[1].field == "contact.custom_fields.color");
        CHECK(violations.list()[1].description == "is not a defined custom field");
        CHECK(violations.list()[2].field == "contact.custom_fields.size");
        CHECK(violations.list()[3].field == "contact.custom_fields.tier");
        CHECK(violations.list()[4].field == "contact.custom_fields.vip");
    }
    SECTION("single select is case sensitive") {
        CHECK(ValidateCustomFields({{"tier", "Gold"}}, defs, "contact", false).size() == 1);
    }
    SECTION("required fields") {
        std::vector<CustomFieldDefinition> with_required = defs;
        with_required.push_back(Def("region", CustomFieldType::kText, true));
        const auto missing = ValidateCustomFields({}, with_required, "company", true);
        REQUIRE(missing.size() == 1);
        CHECK(missing.list()[0].field == "company.custom_fields.region");
        CHECK(missing.list()[0].description == "is required");
        CHECK(ValidateCustomFields({}, with_required, "company", false).empty());
        CHECK(ValidateCustomFields({{"region", "emea"}}, with_required, "company", true).empty());
    }
    SECTION("no definitions means no custom fields") {
        CHECK(ValidateCustomFields({{"x", "1"}}, {}, "contact", true).size() == 1);
        CHECK(ValidateCustomFields({}, {}, "contact", true).empty());
    }
}

TEST_CASE("custom field maps are normalized before checking", "[custom_fields]") {
    SECTION("values are trimmed and empty values dropped") {
        const auto check = NormalizeCustomFields({{"a", "  x "}, {"b", ""}, {"c", "   "}}, "contact");
        CHECK(check.violations.empty());
        CHECK(check.values == CustomFields{{"a", "x"}});
    }
    SECTION("bad keys, long values and control characters") {
        const auto check = NormalizeCustomFields(
            {{"Bad-Key", "x"}, {"long", std::string(2001, 'x')}, {"ctl", "a\x01"}, {"multi", "line1\nline2\tok"}},
            "contact");
        REQUIRE(check.violations.size() == 3);
        CHECK(check.violations.list()[0].field == "contact.custom_fields.Bad-Key");
        CHECK(check.violations.list()[1].field == "contact.custom_fields.ctl");
        CHECK(check.violations.list()[2].field == "contact.custom_fields.long");
        CHECK(check.values == CustomFields{{"multi", "line1\nline2\tok"}});
        CHECK(NormalizeCustomFields({{"long", std::string(2000, 'x')}}, "contact").violations.empty());
    }
    SECTION("at most 100 fields") {
        CustomFields many;
        for (int i = 0; i < 101; ++i) many.emplace("k" + std::to_string(i), "v");
        const auto check = NormalizeCustomFields(many, "contact");
        REQUIRE(check.violations.size() == 1);
        CHECK(check.violations.list()[0].field == "contact.custom_fields");
        many.erase("k0");
        CHECK(NormalizeCustomFields(many, "contact").violations.empty());
    }
}

TEST_CASE("custom field definitions", "[custom_fields]") {
    SECTION("a valid select definition is trimmed") {
        auto def = Def("tier", CustomFieldType::kSingleSelect, true, {" gold ", "silver"});
        def.label = "  Customer   tier ";
        const auto check = NormalizeCustomFieldDefinition(def);
        CHECK(check.violations.empty());
        CHECK(check.definition.label == "Customer tier");
        CHECK(check.definition.allowed_values == std::vector<std::string>{"gold", "silver"});
    }
    SECTION("missing entity, key, label and type") {
        const auto check = NormalizeCustomFieldDefinition(CustomFieldDefinition{});
        std::vector<std::string> fields;
        for (const auto& v : check.violations.list()) fields.push_back(v.field);
        CHECK(fields == std::vector<std::string>{"custom_field_definition.entity", "custom_field_definition.key",
                                                 "custom_field_definition.label", "custom_field_definition.type"});
    }
    SECTION("allowed values only for select, and required there") {
        CHECK(NormalizeCustomFieldDefinition(Def("a", CustomFieldType::kText, false, {"x"})).violations.size() == 1);
        CHECK(NormalizeCustomFieldDefinition(Def("a", CustomFieldType::kSingleSelect)).violations.size() == 1);
        const auto dup =
            NormalizeCustomFieldDefinition(Def("a", CustomFieldType::kSingleSelect, false, {"x", " x", ""}));
        REQUIRE(dup.violations.size() == 2);
        CHECK(dup.violations.list()[0].field == "custom_field_definition.allowed_values[1]");
        CHECK(dup.violations.list()[0].description == "repeats an earlier value");
        CHECK(dup.violations.list()[1].field == "custom_field_definition.allowed_values[2]");
        std::vector<std::string> many(101);
        for (std::size_t i = 0; i < many.size(); ++i) many[i] = "v" + std::to_string(i);
        CHECK(NormalizeCustomFieldDefinition(Def("a", CustomFieldType::kSingleSelect, false, many)).violations.size() ==
              1);
    }
    SECTION("label length") {
        auto def = Def("a", CustomFieldType::kText);
        def.label = std::string(201, 'x');
        CHECK(NormalizeCustomFieldDefinition(def).violations.size() == 1);
        def.label = std::string(200, 'x');
        CHECK(NormalizeCustomFieldDefinition(def).violations.empty());
    }
}
