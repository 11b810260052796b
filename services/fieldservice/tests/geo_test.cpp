#include "domain/geo.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace crm::fieldservice::domain;

TEST_CASE("haversine distances against hand-computed values") {
    // Berlin Brandenburg Gate -> Paris Eiffel Tower: 878.4 km on the mean-radius sphere.
    CHECK(HaversineMeters({52.5163, 13.3777}, {48.8584, 2.2945}) == Approx(878400).epsilon(0.002));
    // One degree of latitude: 2 * pi * 6371008.8 / 360 = 111195.08 m.
    CHECK(HaversineMeters({0, 0}, {1, 0}) == Approx(111195.08).epsilon(1e-6));
    CHECK(HaversineMeters({10, 20}, {10, 20}) == 0);
    // Antipodes: half the circumference.
    CHECK(HaversineMeters({0, 0}, {0, 180}) == Approx(3.14159265358979 * 6371008.8).epsilon(1e-9));
}

TEST_CASE("travel minutes: distance at the territory's speed, rounded up") {
    const HaversineTravel at60(60);                    // 1 km per minute
    CHECK(at60.TravelMinutes({0, 0}, {1, 0}) == 112);  // 111.195 km
    CHECK(at60.TravelMinutes({0, 0}, {0, 0}) == 0);
    TravelSpeeds speeds{.default_kmh = 50, .by_territory = ParseTerritorySpeeds("city=25,rural=80.5")};
    CHECK(speeds.For("city") == 25);
    CHECK(speeds.For("rural") == 80.5);
    CHECK(speeds.For("other") == 50);
    CHECK_THROWS(ParseTerritorySpeeds("city"));
    CHECK_THROWS(ParseTerritorySpeeds("city=0"));
    CHECK_THROWS(ParseTerritorySpeeds("city=fast"));
    CHECK_THROWS(ParseTerritorySpeeds("=40"));
    CHECK(ParseTerritorySpeeds("").empty());
}

TEST_CASE("coordinates out of range or not finite are refused, naming the field") {
    crm::common::Violations v;
    CHECK(CheckPoint(v, 90, -180, "site.location"));
    CHECK(v.empty());
    CHECK_FALSE(CheckPoint(v, 90.0001, 0, "a"));
    CHECK(v.Has("a.latitude"));
    CHECK_FALSE(CheckPoint(v, 0, 180.5, "b"));
    CHECK(v.Has("b.longitude"));
    CHECK_FALSE(CheckPoint(v, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), "c"));
    CHECK(v.Has("c.latitude"));
    CHECK(v.Has("c.longitude"));
}
