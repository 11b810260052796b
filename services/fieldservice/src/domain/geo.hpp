#pragma once
// Coordinates and travel time: WGS 84 points, great-circle (haversine) distance, and the travel-time model behind an
// interface so that a routing engine can replace it. Pure.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "crm/common/violations.hpp"

namespace crm::fieldservice::domain {

struct Point {
    double latitude = 0;
    double longitude = 0;
};

// Refuses non-finite values, a latitude outside -90..90 and a longitude outside -180..180, naming
// "<field>.latitude" / "<field>.longitude". Returns true when both passed.
bool CheckPoint(common::Violations& v, double latitude, double longitude, std::string_view field);

// Great-circle distance in metres on a sphere of the mean earth radius (6371008.8 m).
double HaversineMeters(const Point& a, const Point& b);

// How long a technician takes from one point to another, in whole minutes (rounded up).
class TravelModel {
  public:
    virtual ~TravelModel() = default;
    virtual int TravelMinutes(const Point& from, const Point& to) const = 0;
};

// Haversine distance at a constant average speed.
class HaversineTravel final : public TravelModel {
  public:
    explicit HaversineTravel(double speed_kmh) : speed_kmh_(speed_kmh) {}
    int TravelMinutes(const Point& from, const Point& to) const override;
    double speed_kmh() const { return speed_kmh_; }

  private:
    double speed_kmh_;
};

// Average speeds per service territory, with a default for the others.
struct TravelSpeeds {
    double default_kmh = 50;
    std::map<std::string, double> by_territory;
    double For(const std::string& territory) const;
};

// Parses "north=40,city=25.5" (territory tokens, speeds 1..300 km/h); throws std::invalid_argument naming the
// problem.
std::map<std::string, double> ParseTerritorySpeeds(std::string_view text);

}  // namespace crm::fieldservice::domain
