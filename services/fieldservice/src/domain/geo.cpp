#include "domain/geo.hpp"

#include <cmath>
#include <stdexcept>

#include "crm/common/validate.hpp"

namespace crm::fieldservice::domain {

namespace {
constexpr double kEarthRadiusMeters = 6371008.8;
constexpr double kPi = 3.14159265358979323846;
double Radians(double degrees) { return degrees * kPi / 180.0; }
}  // namespace

bool CheckPoint(common::Violations& v, double latitude, double longitude, std::string_view field) {
    bool ok = true;
    if (!std::isfinite(latitude) || latitude < -90 || latitude > 90) {
        v.Add(std::string(field) + ".latitude", "must be a number of degrees from -90 to 90");
        ok = false;
    }
    if (!std::isfinite(longitude) || longitude < -180 || longitude > 180) {
        v.Add(std::string(field) + ".longitude", "must be a number of degrees from -180 to 180");
        ok = false;
    }
    return ok;
}

double HaversineMeters(const Point& a, const Point& b) {
    const double dlat = Radians(b.latitude - a.latitude);
    const double dlon = Radians(b.longitude - a.longitude);
    const double h = std::sin(dlat / 2) * std::sin(dlat / 2) + std::cos(Radians(a.latitude)) *
                                                                   std::cos(Radians(b.latitude)) * std::sin(dlon / 2) *
                                                                   std::sin(dlon / 2);
    return 2 * kEarthRadiusMeters * std::asin(std::min(1.0, std::sqrt(h)));
}

int HaversineTravel::TravelMinutes(const Point& from, const Point& to) const {
    const double meters = HaversineMeters(from, to);
    const double meters_per_minute = speed_kmh_ * 1000.0 / 60.0;
    return static_cast<int>(std::ceil(meters / meters_per_minute - 1e-9));
}

double TravelSpeeds::For(const std::string& territory) const {
    auto it = by_territory.find(territory);
    return it == by_territory.end() ? default_kmh : it->second;
}

std::map<std::string, double> ParseTerritorySpeeds(std::string_view text) {
    std::map<std::string, double> out;
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            throw std::invalid_argument("expected territory=speed_kmh, got '" + std::string(item) + "'");
        }
        const std::string territory(item.substr(0, eq));
        common::Violations v;
        if (!common::CheckToken(v, territory, "territory", 64, true)) {
            throw std::invalid_argument("bad territory '" + territory + "'");
        }
        std::size_t used = 0;
        double speed = 0;
        const std::string number(item.substr(eq + 1));
        try {
            speed = std::stod(number, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != number.size() || number.empty() || !(speed >= 1 && speed <= 300)) {
            throw std::invalid_argument("speed of '" + territory + "' must be 1..300 km/h");
        }
        out[territory] = speed;
    }
    return out;
}

}  // namespace crm::fieldservice::domain
