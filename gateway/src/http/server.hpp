#pragma once
// A small HTTP/1.1 server (Boost.Beast over Asio; the Beast headers stay in http_server.cpp): keep-alive, limits on
// the header block, URL and body sizes, an idle timeout between requests and a bound on reading one request. It
// parses requests into plain HttpRequest values and hands them to an HttpHandler, which answers asynchronously
// (from any thread); one request at a time per connection.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crm::gateway {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;  // lower-case names, in order

struct HttpRequest {
    std::string method;  // "GET", ...
    std::string target;  // "/v1/contacts?page_size=10"
    HttpHeaders headers;
    std::string body;
    std::string peer;  // "127.0.0.1:51234"

    // Every value of a header (name in lower case).
    std::vector<std::string_view> Header(std::string_view lower_name) const;
};

struct HttpResponse {
    int status = 200;
    HttpHeaders headers;  // content-length, connection, server and date are the server's
    std::string body;
};

struct HttpLimits {
    size_t max_header_bytes = 16 * 1024;      // request line and headers → 431
    size_t max_url_bytes = 8 * 1024;          // request target → 414
    size_t max_body_bytes = 4 * 1024 * 1024;  // → 413
};

struct HttpServerSettings {
    std::string listen = "127.0.0.1:50080";  // host:port; port 0 picks a free one
    int threads = 2;
    HttpLimits limits;
    std::chrono::milliseconds idle_timeout{60000};  // keep-alive connection without a request
    std::chrono::milliseconds read_timeout{30000};  // reading one request, once its first byte came
};

class HttpHandler {
  public:
    virtual ~HttpHandler() = default;
    // Answers exactly once by calling respond (from any thread, synchronously or later).
    virtual void Handle(HttpRequest request, std::function<void(HttpResponse)> respond) = 0;
    // A request the server refused before the handler saw it (malformed, over a limit): for metrics and the log.
    virtual void Rejected(int status, std::string_view peer) { (void)status, (void)peer; }
};

// The outcome of parsing one request from raw bytes (the parser and limits the server uses; for tests).
struct ParsedRequest {
    std::optional<HttpRequest> request;
    int error_status = 0;  // 400, 413, 414, 431 when the bytes are refused; 0 when incomplete or parsed
    bool complete = false;
};
ParsedRequest ParseHttpRequest(std::string_view raw, const HttpLimits& limits);

class HttpServer {
  public:
    HttpServer(HttpServerSettings settings, std::shared_ptr<HttpHandler> handler);
    ~HttpServer();  // Stop()
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts the threads. Throws std::runtime_error when the address cannot be bound.
    void Start();
    // Stops accepting, waits up to drain for answers in flight, closes every connection, joins the threads.
    void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5000));
    int port() const;  // after Start

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::gateway
