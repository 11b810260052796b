// Titles and text of work orders made from support cases (domain/cases.hpp).
#include "domain/cases.hpp"

#include <catch2/catch.hpp>
#include <string>

using crm::fieldservice::domain::CaseWorkOrderTitle;
using crm::fieldservice::domain::CutText;

TEST_CASE("CutText keeps short text and cuts long text at a code point boundary", "[cases]") {
    CHECK(CutText("", 5).empty());
    CHECK(CutText("boiler", 6) == "boiler");
    CHECK(CutText("boiler", 3) == "boi");
    // "ä" and "€" are 2 and 3 bytes, "𝄞" is 4: every cut lands between code points.
    CHECK(CutText("ä€𝄞x", 1) == "ä");
    CHECK(CutText("ä€𝄞x", 2) == "ä€");
    CHECK(CutText("ä€𝄞x", 3) == "ä€𝄞");
    CHECK(CutText("ä€𝄞x", 4) == "ä€𝄞x");
    CHECK(CutText("ä€𝄞x", 0).empty());
    // A cut drops the white space it leaves at the end; text that fits keeps its own.
    CHECK(CutText("no heat \n now", 8) == "no heat");
    CHECK(CutText("no heat ", 8) == "no heat ");
}

TEST_CASE("CaseWorkOrderTitle names the case and stays within 200 characters", "[cases]") {
    CHECK(CaseWorkOrderTitle(42, "Boiler leaks") == "CS-42: Boiler leaks");
    CHECK(CaseWorkOrderTitle(42, "") == "CS-42");
    CHECK(CaseWorkOrderTitle(0, "Boiler leaks") == "Boiler leaks");
    CHECK(CaseWorkOrderTitle(0, "") == "Support case");
    const std::string long_subject(500, 'x');
    const std::string title = CaseWorkOrderTitle(1234567, long_subject);
    CHECK(title.size() == 200);
    CHECK(title.rfind("CS-1234567: xxx", 0) == 0);
    std::string umlauts;
    for (int i = 0; i < 300; ++i) umlauts += "ü";
    const std::string cut = CaseWorkOrderTitle(7, umlauts);
    CHECK(cut.size() == 6 + 194 * 2);  // "CS-7: " then 194 two-byte characters: 200 characters
}
