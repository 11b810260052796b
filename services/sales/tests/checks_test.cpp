// The sales API's checks over plain values: the kit's validators with the service's limits, each naming its field.
#include "domain/checks.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace crm::sales::domain;
using crm::common::Violations;

namespace {
bool Names(const Violations& v, const std::string& field) { return v.Has(field); }
const std::string kNul("a\0b", 3);
}  // namespace

TEST_CASE("checks: names and descriptions refuse control characters, NUL included", "[sales][checks]") {
    Violations v;
    crm::common::CheckText(v, kNul, "pipeline.name", kNameRule);
    crm::common::CheckText(v, "two\nlines", "quote.title", kNameRule);
    crm::common::CheckText(v, "   ", "activity.subject", kNameRule);
    crm::common::CheckText(v, std::string(201, 'x'), "product.name", kNameRule);
    crm::common::CheckText(v, "line one\nline two", "opportunity.description", kDescriptionRule);
    crm::common::CheckText(v, std::string(200, 'x'), "opportunity.name", kNameRule);
    CHECK(Names(v, "pipeline.name"));
    CHECK(Names(v, "quote.title"));
    CHECK(Names(v, "activity.subject"));
    CHECK(Names(v, "product.name"));
    CHECK_FALSE(Names(v, "opportunity.description"));  // descriptions may break lines
    CHECK_FALSE(Names(v, "opportunity.name"));
    CHECK(v.size() == 4);
}

TEST_CASE("checks: ids, ignored tokens and etags", "[sales][checks]") {
    Violations v;
    CHECK(CheckOptionalId(v, "", "opportunity.contact_id").empty());
    CHECK(CheckOptionalId(v, "6F1C2E1A-9A0B-4C1D-8E2F-3A4B5C6D7E8F", "opportunity.company_id") ==
          "6f1c2e1a-9a0b-4c1d-8e2f-3a4b5c6d7e8f");
    CHECK(v.empty());
    CheckOptionalId(v, "not-a-uuid", "opportunity.lead_id");
    CheckIgnoredToken(v, "6f1c2e1a-9a0b-4c1d-8e2f-3a4b5c6d7e8f", "pipeline.id");
    CheckIgnoredToken(v, kNul, "quote.id");
    CheckEtagSyntax(v, "", "etag");
    CheckEtagSyntax(v, "v12", "pipeline.etag");
    CheckEtagSyntax(v, "\"12\"", "product.etag");
    CheckEtagSyntax(v, kNul, "activity.etag");
    CHECK(Names(v, "opportunity.lead_id"));
    CHECK_FALSE(Names(v, "pipeline.id"));
    CHECK(Names(v, "quote.id"));
    CHECK_FALSE(Names(v, "etag"));
    CHECK_FALSE(Names(v, "pipeline.etag"));
    CHECK(Names(v, "product.etag"));
    CHECK(Names(v, "activity.etag"));
}

TEST_CASE("checks: dates within the suite's range, probabilities, percentages and quantities", "[sales][checks]") {
    Violations v;
    CHECK_FALSE(CheckDate(v, "", "close_date_from"));
    CHECK(CheckDate(v, "1900-01-01", "a") == ParseDate("1900-01-01"));
    CHECK(CheckDate(v, "2199-12-31", "b"));
    CHECK(v.empty());
    CHECK_FALSE(CheckDate(v, "1899-12-31", "c"));
    CHECK_FALSE(CheckDate(v, "2200-01-01", "d"));
    CHECK_FALSE(CheckDate(v, "2031-02-30", "e"));
    CHECK_FALSE(CheckDate(v, "2031-01-01" + kNul, "f"));
    for (const char* f : {"c", "d", "e", "f"}) CHECK(Names(v, f));

    Violations p;
    CheckProbability(p, 0, "zero");
    CheckProbability(p, 100, "hundred");
    CheckProbability(p, 101, "above");
    CheckProbability(p, -1, "below");
    CHECK(p.size() == 2);
    CHECK(Names(p, "above"));
    CHECK(Names(p, "below"));

    Violations d;
    CHECK(CheckPercent(d, "", kDiscountScale, "empty")->units == 0);
    CHECK(CheckPercent(d, "7.25", kDiscountScale, "ok")->units == 725);
    CHECK(CheckPercent(d, "100", kTaxScale, "max")->units == 100000);
    CHECK_FALSE(CheckPercent(d, "100.01", kDiscountScale, "over"));
    CHECK_FALSE(CheckPercent(d, "7.125", kDiscountScale, "digits"));
    CHECK_FALSE(CheckPercent(d, "7.5.1", kTaxScale, "syntax"));
    CHECK(d.size() == 3);

    Violations q;
    CHECK(CheckQuantity(q, "2.5", "ok")->units == 2500);
    CHECK(CheckQuantity(q, "1000000", "max"));
    CHECK_FALSE(CheckQuantity(q, "0", "zero"));
    CHECK_FALSE(CheckQuantity(q, "1000000.001", "over"));
    CHECK_FALSE(CheckQuantity(q, "three", "word"));
    CHECK(q.size() == 3);
}

TEST_CASE("checks: an amount whose currency may be left out", "[sales][checks]") {
    Violations v;
    CheckAmount(v, 100, "", "opportunity.amount");
    CheckAmount(v, 100, "EUR", "line.unit_price");
    CHECK(v.empty());
    CheckAmount(v, -1, "", "a");
    CheckAmount(v, 1, "ABC", "b");  // three letters, but no ISO 4217 currency
    CheckAmount(v, 1, std::string("EU\0", 3), "c");
    CheckAmount(v, 1'000'000'000'000'001, "", "d");
    CHECK(Names(v, "a.amount_minor"));
    CHECK_FALSE(Names(v, "a.currency_code"));
    CHECK(Names(v, "b.currency_code"));
    CHECK(Names(v, "c.currency_code"));
    CHECK(Names(v, "d.amount_minor"));
    CHECK(v.size() == 4);
}

TEST_CASE("checks: optional times within 1900..2200", "[sales][checks]") {
    Violations v;
    CHECK(CheckOptionalTime(v, false, -9'000'000'000, 0, "unset"));
    CHECK(CheckOptionalTime(v, true, -86400, 0, "before_1970"));  // sales refused these before the kit's range
    CHECK(CheckOptionalTime(v, true, 7258118399, 999999999, "last"));
    CHECK(v.empty());
    CHECK_FALSE(CheckOptionalTime(v, true, 7258118400, 0, "activity.due_time"));
    CHECK_FALSE(CheckOptionalTime(v, true, -2208988801, 0, "activity.remind_time"));
    CHECK_FALSE(CheckOptionalTime(v, true, 0, -1, "nanos"));
    CHECK(v.size() == 3);
}
