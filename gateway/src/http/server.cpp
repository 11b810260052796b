// The only translation unit that includes Boost.Beast/Asio (heavy headers).
#include "http/server.hpp"

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "crm/common/log.hpp"

namespace crm::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Parser = http::request_parser<http::string_body>;

std::string Lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

void ConfigureParser(Parser& parser, const HttpLimits& limits) {
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(static_cast<std::uint64_t>(limits.max_body_bytes));
}

// After the header block: the limits Beast does not check itself. 0 when within them.
int CheckHeader(const Parser& parser, const HttpLimits& limits) {
    if (parser.get().target().size() > limits.max_url_bytes) return 414;
    if (auto length = parser.content_length(); length && *length > limits.max_body_bytes) return 413;
    return 0;
}

// The HTTP status for a parse error; 0 for an I/O error (the connection is just closed).
int StatusForError(const beast::error_code& ec) {
    if (ec == http::error::header_limit) return 431;
    if (ec == http::error::body_limit) return 413;
    if (ec.category() == beast::http::make_error_code(http::error::bad_method).category()) return 400;
    return 0;
}

HttpRequest ToRequest(Parser& parser, std::string peer) {
    auto& msg = parser.get();
    HttpRequest r;
    r.method = std::string(msg.method_string());
    r.target = std::string(msg.target());
    for (const auto& field : msg) {
        const auto name = field.name_string();
        r.headers.emplace_back(Lower(std::string_view(name.data(), name.size())), std::string(field.value()));
    }
    r.body = std::move(msg.body());
    r.peer = std::move(peer);
    return r;
}

const char* ReasonFor(int status) {
    switch (status) {
        case 400:
            return "malformed HTTP request";
        case 413:
            return "request body too large";
        case 414:
            return "request URL too long";
        case 431:
            return "request header fields too large";
        default:
            return "bad request";
    }
}

std::string RejectionBody(int status) {
    const char* grpc_status = status == 413 || status == 431 ? "RESOURCE_EXHAUSTED" : "INVALID_ARGUMENT";
    return "{\"error\":{\"code\":" + std::to_string(status) + ",\"message\":\"" + ReasonFor(status) +
           "\",\"status\":\"" + grpc_status + "\",\"details\":[]}}";
}

}  // namespace

std::vector<std::string_view> HttpRequest::Header(std::string_view lower_name) const {
    std::vector<std::string_view> out;
    for (const auto& [k, v] : headers) {
        if (k == lower_name) out.emplace_back(v);
    }
    return out;
}

ParsedRequest ParseHttpRequest(std::string_view raw, const HttpLimits& limits) {
    ParsedRequest out;
    Parser parser;
    ConfigureParser(parser, limits);
    parser.eager(true);
    bool header_checked = false;
    while (!parser.is_done()) {
        beast::error_code ec;
        const size_t used = parser.put(asio::buffer(raw.data(), raw.size()), ec);
        raw.remove_prefix(used);
        if (ec == http::error::need_more) {
            if (parser.is_header_done() && !header_checked) {
                header_checked = true;
                if (int status = CheckHeader(parser, limits)) return out.error_status = status, out;
            }
            if (raw.empty() || used == 0) return out;  // incomplete: every byte given was consumed or is held back
            continue;
        }
        if (ec) {
            out.error_status = StatusForError(ec);
            if (out.error_status == 0) out.error_status = 400;
            return out;
        }
        if (parser.is_header_done() && !header_checked) {
            header_checked = true;
            if (int status = CheckHeader(parser, limits)) return out.error_status = status, out;
        }
        if (used == 0 && !parser.is_done()) return out;
    }
    out.complete = true;
    out.request = ToRequest(parser, "");
    return out;
}

// Answers can arrive from gRPC threads after the server stopped: they post only while the io_context lives.
struct Liveness {
    std::mutex mutex;
    bool alive = true;
};

struct HttpServer::Impl {
    HttpServerSettings settings;
    std::shared_ptr<HttpHandler> handler;
    asio::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    std::vector<std::thread> threads;
    std::shared_ptr<Liveness> liveness = std::make_shared<Liveness>();
    std::atomic<bool> stopping{false};
    std::atomic<int> in_flight{0};
    std::mutex idle_mutex;
    std::condition_variable idle;
    int port = 0;

    void Accept();
    void Done() {
        if (in_flight.fetch_sub(1) == 1) {
            std::lock_guard lock(idle_mutex);
            idle.notify_all();
        }
    }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket socket, HttpServer::Impl& server) : stream_(std::move(socket)), server_(server) {
        beast::error_code ec;
        const auto endpoint = stream_.socket().remote_endpoint(ec);
        if (!ec) peer_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    }

    void Start() {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
    }

  private:
    void ReadHeader() {
        if (server_.stopping.load()) return Close();
        parser_.emplace();
        ConfigureParser(*parser_, server_.settings.limits);
        stream_.expires_after(server_.settings.idle_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
    }

    void OnHeader(beast::error_code ec) {
        if (ec) return Fail(ec);
        if (int status = CheckHeader(*parser_, server_.settings.limits)) return Reject(status);
        stream_.expires_after(server_.settings.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
    }

    void OnRead(beast::error_code ec) {
        if (ec) return Fail(ec);
        stream_.expires_never();
        keep_alive_ = parser_->get().keep_alive();
        HttpRequest request = ToRequest(*parser_, peer_);
        parser_.reset();
        server_.in_flight.fetch_add(1);
        auto respond = [self = shared_from_this(), liveness = server_.liveness](HttpResponse response) mutable {
            std::lock_guard lock(liveness->mutex);
            if (!liveness->alive) return;
            auto executor = self->stream_.get_executor();
            asio::post(executor, [self = std::move(self), response = std::move(response)]() mutable {
                self->Write(std::move(response));
            });
        };
        try {
            server_.handler->Handle(std::move(request), std::move(respond));
        } catch (const std::exception& e) {
            // Handlers answer errors themselves; this is a bug. The connection is closed without an answer.
            common::log::Error("http handler threw", {{"error", e.what()}});
            server_.Done();
            Close();
        }
    }

    void Write(HttpResponse r) {
        auto res = std::make_shared<http::response<http::string_body>>();
        res->version(11);
        res->result(static_cast<unsigned>(r.status));
        for (auto& [k, v] : r.headers) res->insert(k, v);
        res->set(http::field::server, "crm-gateway");
        res->body() = std::move(r.body);
        res->keep_alive(keep_alive_ && !server_.stopping.load());
        res->prepare_payload();
        response_ = res;
        http::async_write(stream_, *res, [self = shared_from_this()](beast::error_code ec, size_t) {
            const bool keep = !ec && self->response_->keep_alive();
            self->response_.reset();
            self->server_.Done();
            if (keep) {
                self->ReadHeader();
            } else {
                self->Close();
            }
        });
    }

    // A request the server refuses itself: answered, then the connection is closed (its rest is not read).
    void Reject(int status) {
        server_.handler->Rejected(status, peer_);
        auto res = std::make_shared<http::response<http::string_body>>();
        res->version(11);
        res->result(static_cast<unsigned>(status));
        res->set(http::field::content_type, "application/json");
        res->set(http::field::server, "crm-gateway");
        res->body() = RejectionBody(status);
        res->keep_alive(false);
        res->prepare_payload();
        response_ = res;
        stream_.expires_after(server_.settings.read_timeout);
        http::async_write(stream_, *res, [self = shared_from_this()](beast::error_code, size_t) {
            self->response_.reset();
            self->Close();
        });
    }

    void Fail(beast::error_code ec) {
        const int status = StatusForError(ec);
        // A parse error after some bytes: say why. End of stream, timeouts and resets: just close.
        if (status != 0 && ec != http::error::end_of_stream) return Reject(status);
        Close();
    }

    void Close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.socket().close(ignored);
    }

    beast::tcp_stream stream_;
    HttpServer::Impl& server_;
    beast::flat_buffer buffer_;
    std::optional<Parser> parser_;
    std::shared_ptr<http::response<http::string_body>> response_;
    std::string peer_;
    bool keep_alive_ = false;
};

}  // namespace

void HttpServer::Impl::Accept() {
    acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (stopping.load() || !acceptor->is_open()) return;
        if (!ec) {
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            std::make_shared<Session>(std::move(socket), *this)->Start();
        }
        Accept();
    });
}

HttpServer::HttpServer(HttpServerSettings settings, std::shared_ptr<HttpHandler> handler)
    : impl_(std::make_unique<Impl>()) {
    impl_->settings = std::move(settings);
    impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(0)); }

void HttpServer::Start() {
    const std::string& listen = impl_->settings.listen;
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("HTTP listen address must be host:port: " + listen);
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    beast::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("HTTP listen address: bad host '" + host + "'");
    int port = 0;
    try {
        port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        throw std::runtime_error("HTTP listen address: bad port in '" + listen + "'");
    }
    if (port < 0 || port > 65535) throw std::runtime_error("HTTP listen address: bad port in '" + listen + "'");
    tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    impl_->acceptor.emplace(impl_->ioc);
    impl_->acceptor->open(endpoint.protocol(), ec);
    if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl_->acceptor->bind(endpoint, ec);
    if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen for HTTP on " + listen + ": " + ec.message());
    impl_->port = impl_->acceptor->local_endpoint().port();
    impl_->Accept();
    for (int i = 0; i < std::max(1, impl_->settings.threads); ++i) {
        impl_->threads.emplace_back([this] { impl_->ioc.run(); });
    }
}

void HttpServer::Stop(std::chrono::milliseconds drain) {
    if (impl_->stopping.exchange(true)) return;
    if (impl_->acceptor) {
        asio::post(impl_->ioc, [this] {
            beast::error_code ignored;
            impl_->acceptor->close(ignored);
        });
    }
    {
        std::unique_lock lock(impl_->idle_mutex);
        impl_->idle.wait_for(lock, drain, [&] { return impl_->in_flight.load() == 0; });
    }
    {
        std::lock_guard lock(impl_->liveness->mutex);
        impl_->liveness->alive = false;
    }
    impl_->ioc.stop();
    for (auto& t : impl_->threads) t.join();
    impl_->threads.clear();
}

int HttpServer::port() const { return impl_->port; }

}  // namespace crm::gateway
