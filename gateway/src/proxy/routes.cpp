#include "proxy/routes.hpp"

#include <stdexcept>
#include <utility>

namespace crm::gateway {

bool IsProtoIdentifier(std::string_view s) {
    if (s.empty()) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (!(alpha || (i > 0 && digit))) return false;
    }
    return true;
}

namespace {

constexpr size_t kMaxPathBytes = 256;
constexpr size_t kMaxPackageBytes = 128;
constexpr size_t kMaxTargetBytes = 256;

bool IsDottedName(std::string_view s) {
    if (s.empty()) return false;
    size_t start = 0;
    while (true) {
        const size_t dot = s.find('.', start);
        if (!IsProtoIdentifier(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
            return false;
        }
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool IsValidTarget(std::string_view t) {
    if (t.empty() || t.size() > kMaxTargetBytes) return false;
    for (char c : t) {
        if (c <= 0x20 || c >= 0x7f || c == ',' || c == '=') return false;
    }
    return true;
}

}  // namespace

bool IsValidPackage(std::string_view package) { return package.size() <= kMaxPackageBytes && IsDottedName(package); }

RouteTable::RouteTable(std::vector<Route> routes) {
    for (auto& r : routes) {
        if (!IsValidPackage(r.package)) {
            throw std::invalid_argument("'" + r.package + "' is not a proto package name (e.g. crm.contacts.v1)");
        }
        if (!IsValidTarget(r.target)) {
            throw std::invalid_argument("route for " + r.package + " has an invalid target '" + r.target +
                                        "' (expected host:port or a gRPC target URI)");
        }
        if (Find(r.package) != nullptr) throw std::invalid_argument("package " + r.package + " is routed twice");
        routes_.push_back(std::move(r));
    }
}

RouteTable RouteTable::Parse(std::string_view spec) {
    std::vector<Route> routes;
    size_t start = 0;
    while (start <= spec.size()) {
        const size_t comma = spec.find(',', start);
        const std::string_view item =
            Trim(spec.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (!item.empty()) {
            const size_t eq = item.find('=');
            if (eq == std::string_view::npos) {
                throw std::invalid_argument("route '" + std::string(item) + "' is not of the form package=host:port");
            }
            routes.push_back(Route{std::string(Trim(item.substr(0, eq))), std::string(Trim(item.substr(eq + 1)))});
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    if (routes.empty()) throw std::invalid_argument("no route given (expected package=host:port,...)");
    return RouteTable(std::move(routes));
}

const Route* RouteTable::Find(std::string_view package) const {
    for (const auto& r : routes_) {
        if (r.package == package) return &r;
    }
    return nullptr;
}

std::optional<MethodPath> ParseMethodPath(std::string_view path) {
    if (path.size() < 2 || path.size() > kMaxPathBytes || path.front() != '/') return std::nullopt;
    const std::string_view rest = path.substr(1);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    MethodPath out;
    out.service = rest.substr(0, slash);
    out.method = rest.substr(slash + 1);
    if (!IsProtoIdentifier(out.method) || !IsDottedName(out.service)) return std::nullopt;
    const size_t last_dot = out.service.rfind('.');
    if (last_dot == std::string_view::npos) return std::nullopt;  // a service outside any package is never routed
    out.package = out.service.substr(0, last_dot);
    return out;
}

}  // namespace crm::gateway
