// A randomized (seeded) fuzz test of the HTTP/JSON path, in-process: thousands of mutated and random inputs through
// the HTTP request parser, the route lookup, the transcoder (path, query, body), the response encoder and the error
// encoder. Every input must give a well-formed outcome: a parsed request or a 4xx status; a request message that
// parses back, or INVALID_ARGUMENT with at least one field violation; JSON that parses. No crash, no exception.
// CRM_FUZZ_SEED replays a run (the seed is printed); CRM_FUZZ_ITERATIONS scales it (default 4000 per part).
#include <crm/contacts/v1/contacts.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "http/rules.hpp"
#include "http/server.hpp"
#include "http/transcoder.hpp"

using namespace crm::gateway;
using nlohmann::json;

namespace {

uint64_t Seed() {
    if (const char* s = std::getenv("CRM_FUZZ_SEED")) return std::strtoull(s, nullptr, 10);
    return std::random_device{}() * 4294967296ull + std::random_device{}();
}

int Iterations() {
    if (const char* s = std::getenv("CRM_FUZZ_ITERATIONS")) return std::max(1, std::atoi(s));
    return 4000;
}

class Mutator {
  public:
    explicit Mutator(uint64_t seed) : rng_(seed) {}

    size_t Below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
    bool Coin(int one_in) { return Below(static_cast<size_t>(one_in)) == 0; }

    template <typename T>
    const T& Pick(const std::vector<T>& v) {
        return v[Below(v.size())];
    }

    std::string RandomBytes(size_t max) {
        std::string s(Below(max + 1), '\0');
        for (auto& c : s) c = static_cast<char>(Below(256));
        return s;
    }

    // Applies 1..4 mutations: flips, inserted tokens or bytes, deletions, duplications, truncation.
    std::string Mutate(std::string s) {
        static const std::vector<std::string> tokens = {"{",
                                                        "}",
                                                        "[",
                                                        "]",
                                                        "\"",
                                                        ":",
                                                        ",",
                                                        "null",
                                                        "true",
                                                        "-",
                                                        "0",
                                                        "1e999",
                                                        "-0",
                                                        "9223372036854775808",
                                                        "\\u0000",
                                                        "\\ud800",
                                                        "\\",
                                                        "%",
                                                        "%zz",
                                                        "%00",
                                                        "%ff",
                                                        "&",
                                                        "=",
                                                        "?",
                                                        "/",
                                                        ":merge",
                                                        "{}",
                                                        "[]",
                                                        "\"givenName\"",
                                                        "\"contact\"",
                                                        "\"@type\"",
                                                        "\"pageSize\"",
                                                        "NaN",
                                                        "\xc3",
                                                        "\xff",
                                                        "\r\n",
                                                        " ",
                                                        "\t",
                                                        "\"updateMask\":\"a,,b\"",
                                                        "\"createTime\":\"2024-13-45T99:00:00Z\"",
                                                        "\"customFields\":{\"\":1}",
                                                        std::string(300, '['),
                                                        std::string(1000, 'a')};
        const size_t n = 1 + Below(4);
        for (size_t i = 0; i < n; ++i) {
            const size_t at = Below(s.size() + 1);
            switch (Below(6)) {
                case 0:
                    if (!s.empty()) s[Below(s.size())] = static_cast<char>(Below(256));
                    break;
                case 1:
                    s.insert(at, Pick(tokens));
                    break;
                case 2:
                    s.insert(at, RandomBytes(8));
                    break;
                case 3:
                    if (!s.empty()) s.erase(at == s.size() ? at - 1 : at, 1 + Below(8));
                    break;
                case 4:
                    s.insert(at, s.substr(Below(s.size() + 1), Below(16)));
                    break;
                case 5:
                    s.resize(Below(s.size() + 1));
                    break;
            }
        }
        return s;
    }

  private:
    std::mt19937_64 rng_;
};

const HttpRouteTable& Table() {
    static const HttpRouteTable table = HttpRouteTable::FromLinkedDescriptors();
    return table;
}

// A plausible target for a route: its template with values in place of the variables, and a query string.
std::string TargetFor(const HttpRoute& r, Mutator& m) {
    std::string path;
    const auto& vars = r.path.variables();
    size_t var = 0;
    for (size_t k = 0; k < r.path.segments().size();) {
        if (var < vars.size() && vars[var].first == k) {
            path += "/" + m.Pick(std::vector<std::string>{"0b5e7f1c-0000-4000-8000-000000000001", "x", "a%20b",
                                                          "%C3%A9", "..", "id%2Fwith%2Fslash"});
            k += vars[var].count;
            ++var;
            continue;
        }
        path += "/" + r.path.segments()[k].literal;
        ++k;
    }
    if (!r.path.verb().empty()) path += ":" + r.path.verb();
    static const std::vector<std::string> queries = {"",
                                                     "page_size=10",
                                                     "pageSize=-1&page_token=abc",
                                                     "update_mask=given_name,email&etag=x",
                                                     "request_id=r1",
                                                     "tag=a+b&owner_id=o",
                                                     "updated_after=2024-01-31T12:00:00Z",
                                                     "show_deleted=true",
                                                     "entity=2",
                                                     "allowDuplicate=true",
                                                     "query=ada"};
    const std::string& q = m.Pick(queries);
    return q.empty() ? path : path + "?" + q;
}

std::string BodyFor(const HttpRoute& r, Mutator& m) {
    if (r.body.empty()) return m.Coin(4) ? "{}" : "";  // mostly right: no body where the route takes none
    if (m.Coin(3)) return m.Coin(2) ? "{}" : "";
    static const std::vector<std::string> bodies = {
        "",
        "{}",
        R"({"givenName":"Ada","email":"ada@example.com","tags":["x"],"customFields":{"k":"v"}})",
        R"({"name":"Acme","domain":"acme.test"})",
        R"({"loserIds":["a","b"],"requestId":"r","survivorEtag":"e"})",
        R"({"status":"CONSENT_STATUS_OPTED_IN","source":"web"})",
        R"({"candidate":{"givenName":"A"},"pageSize":5})",
        R"({"key":"tier","label":"Tier","type":"CUSTOM_FIELD_TYPE_TEXT","entity":"CUSTOM_FIELD_ENTITY_CONTACT"})",
        R"({"contactId":"x","pageSize":"3"})",
    };
    return m.Pick(bodies);
}

}  // namespace

TEST_CASE("http fuzz: transcoder and route lookup never crash and always answer well-formed", "[http][fuzz]") {
    google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 in parsed bytes is expected here, not worth a line
    const uint64_t seed = Seed();
    std::printf("http fuzz (transcoder) seed=%llu (replay with CRM_FUZZ_SEED)\n",
                static_cast<unsigned long long>(seed));
    Mutator m(seed);
    const auto& routes = Table().routes();
    REQUIRE_FALSE(routes.empty());
    int ok = 0;
    int refused = 0;
    for (int i = 0; i < Iterations(); ++i) {
        const HttpRoute& base = m.Pick(routes);
        std::string target = TargetFor(base, m);
        std::string body = BodyFor(base, m);
        std::string method = base.http_method;
        switch (m.Below(4)) {
            case 0:
                target = m.Mutate(target);
                break;
            case 1:
                body = m.Mutate(body);
                break;
            case 2:
                target = m.Mutate(target), body = m.Mutate(body);
                break;
            default:
                break;
        }
        if (m.Coin(20)) method = m.Pick(std::vector<std::string>{"GET", "POST", "PATCH", "DELETE", "PUT"});
        INFO("seed " << seed << " iteration " << i << " " << method << " " << target);
        const size_t q = target.find('?');
        const std::string path = target.substr(0, q);
        auto [match, miss] = Table().Find(method, path);
        if (!match) {
            CHECK((miss == HttpRouteTable::Miss::kNoRoute || miss == HttpRouteTable::Miss::kWrongMethod));
            continue;
        }
        REQUIRE(match->bindings.size() == match->route->path.variables().size());
        const TranscodeResult r =
            BuildRequest(*match->route, match->bindings, q == std::string::npos ? "" : target.substr(q + 1), body);
        if (r.ok()) {
            ++ok;
            std::unique_ptr<google::protobuf::Message> parsed(google::protobuf::MessageFactory::generated_factory()
                                                                  ->GetPrototype(match->route->method->input_type())
                                                                  ->New());
            CHECK(parsed->ParseFromString(r.bytes));
        } else {
            ++refused;
            CHECK_FALSE(r.error->violations.empty());
            const auto j = json::parse(ErrorJson(*r.error), nullptr, false);
            REQUIRE_FALSE(j.is_discarded());
            CHECK(j["error"]["code"] == 400);
            CHECK(j["error"]["status"] == "INVALID_ARGUMENT");
        }
    }
    std::printf("http fuzz (transcoder): %d transcoded, %d refused\n", ok, refused);
    CHECK(ok > 0);
    CHECK(refused > 0);
}

TEST_CASE("http fuzz: response and error encoders always produce JSON", "[http][fuzz]") {
    google::protobuf::SetLogHandler(nullptr);
    const uint64_t seed = Seed();
    std::printf("http fuzz (encoders) seed=%llu\n", static_cast<unsigned long long>(seed));
    Mutator m(seed);
    crm::contacts::v1::GetContactResponse sample;
    sample.mutable_contact()->set_id("x");
    sample.mutable_contact()->set_given_name("Ada");
    sample.mutable_contact()->add_tags("t");
    (*sample.mutable_contact()->mutable_custom_fields())["k"] = "v";
    const std::string valid = sample.SerializeAsString();
    google::rpc::Status status;
    google::rpc::BadRequest bad;
    bad.add_field_violations()->set_field("contact.email");
    status.add_details()->PackFrom(bad);
    const std::string details = status.SerializeAsString();
    for (int i = 0; i < Iterations(); ++i) {
        INFO("seed " << seed << " iteration " << i);
        const HttpRoute& route = m.Pick(Table().routes());
        const std::string bytes = m.Coin(2) ? m.Mutate(valid) : m.RandomBytes(64);
        if (auto text = ResponseJson(route, bytes)) CHECK_FALSE(json::parse(*text, nullptr, false).is_discarded());
        const int code = static_cast<int>(m.Below(20)) - 1;
        const std::string message = m.Coin(2) ? m.RandomBytes(32) : "not found";
        const std::string bin = m.Coin(2) ? m.Mutate(details) : m.RandomBytes(32);
        const auto j = json::parse(ErrorJson(code, message, bin), nullptr, false);
        REQUIRE_FALSE(j.is_discarded());
        CHECK(j["error"]["code"] == HttpStatusFor(code));
        CHECK(j["error"]["details"].is_array());
    }
}

TEST_CASE("http fuzz: strings with overlong UTF-8 never reach the JSON (seed 9533462427229292748 found it)",
          "[http][fuzz]") {
    google::protobuf::SetLogHandler(nullptr);
    const std::string overlong = "c\xc1\x83ntact.";  // C1 83: an overlong form the JSON printer let through
    google::rpc::BadRequest bad;
    bad.add_field_violations()->set_field(overlong);
    google::rpc::BadRequest good;
    good.add_field_violations()->set_field("contact.email");
    google::rpc::Status status;
    status.add_details()->PackFrom(bad);
    status.add_details()->PackFrom(good);
    const auto j = json::parse(ErrorJson(5, "not found", status.SerializeAsString()), nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    REQUIRE(j["error"]["details"].size() == 1);  // the malformed detail is left out, the good one kept
    CHECK(j["error"]["details"][0]["fieldViolations"][0]["field"] == "contact.email");

    crm::contacts::v1::GetContactResponse response;
    response.mutable_contact()->set_id("x");
    response.mutable_contact()->set_given_name(overlong);  // a backend's bytes are not checked on the way in
    const auto& routes = Table().routes();
    const auto get = std::find_if(routes.begin(), routes.end(), [](const HttpRoute& r) {
        return r.method->full_name() == "crm.contacts.v1.ContactsService.GetContact";
    });
    REQUIRE(get != routes.end());
    CHECK_FALSE(ResponseJson(*get, response.SerializeAsString()).has_value());
    response.mutable_contact()->set_given_name("Ada");
    CHECK(ResponseJson(*get, response.SerializeAsString()).has_value());
}

TEST_CASE("http fuzz: the HTTP request parser refuses or parses every input", "[http][fuzz]") {
    const uint64_t seed = Seed();
    std::printf("http fuzz (parser) seed=%llu\n", static_cast<unsigned long long>(seed));
    Mutator m(seed);
    HttpLimits limits;
    limits.max_header_bytes = 2048;
    limits.max_url_bytes = 512;
    limits.max_body_bytes = 4096;
    const std::vector<std::string> seeds = {
        "GET /v1/contacts/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t\r\n\r\n",
        "POST /v1/contacts?request_id=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: "
        "17\r\n\r\n{\"givenName\":\"A\"}",
        "PATCH /v1/contacts/x?update_mask=email HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n",
        "OPTIONS /v1/contacts HTTP/1.1\r\nOrigin: https://app.test\r\nAccess-Control-Request-Method: POST\r\n\r\n",
        "GET /openapi.json HTTP/1.0\r\n\r\n",
    };
    int parsed = 0;
    int refused = 0;
    for (int i = 0; i < Iterations(); ++i) {
        std::string raw = m.Coin(10) ? m.RandomBytes(256) : m.Mutate(m.Pick(seeds));
        if (m.Coin(50)) raw = "GET /" + std::string(600, 'a') + " HTTP/1.1\r\n\r\n";
        if (m.Coin(50)) raw = "GET / HTTP/1.1\r\nX: " + std::string(3000, 'b') + "\r\n\r\n";
        if (m.Coin(50)) raw = "POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, '{');
        INFO("seed " << seed << " iteration " << i);
        const ParsedRequest p = ParseHttpRequest(raw, limits);
        if (p.error_status != 0) {
            ++refused;
            CHECK((p.error_status == 400 || p.error_status == 413 || p.error_status == 414 || p.error_status == 431));
            CHECK_FALSE(p.request);
        } else if (p.complete) {
            ++parsed;
            REQUIRE(p.request);
            CHECK_FALSE(p.request->method.empty());
            CHECK(p.request->target.size() <= limits.max_url_bytes);
            CHECK(p.request->body.size() <= limits.max_body_bytes);
            for (const auto& [k, v] : p.request->headers) {
                for (char c : k) CHECK_FALSE((c >= 'A' && c <= 'Z'));
            }
            // The route lookup takes whatever the parser let through.
            const std::string& t = p.request->target;
            (void)Table().Find(p.request->method, t.substr(0, t.find('?')));
        }
    }
    std::printf("http fuzz (parser): %d parsed, %d refused\n", parsed, refused);
    CHECK(parsed > 0);
    CHECK(refused > 0);
}
