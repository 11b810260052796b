#pragma once
// A minimal blocking HTTP/1.1 client over a loopback TCP socket for tests and the benchmark: one connection, reused
// for every request (keep-alive) until the server closes it, then reconnected. Answers must carry Content-Length
// (the gateway's always do). Header-only; no dependency besides POSIX sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace crm::test {

struct HttpReply {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
    std::string body;
    bool closed = false;  // the server closed the connection after this answer

    std::string Header(const std::string& lower_name) const {
        for (const auto& [k, v] : headers) {
            if (k == lower_name) return v;
        }
        return {};
    }
};

class HttpClient {
  public:
    // address: "127.0.0.1:port"
    explicit HttpClient(std::string address, std::chrono::milliseconds timeout = std::chrono::milliseconds(15000))
        : address_(std::move(address)), timeout_(timeout) {}
    ~HttpClient() { Close(); }
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Sends one request and reads the answer. Throws std::runtime_error on I/O failure or timeout.
    HttpReply Send(const std::string& method, const std::string& target,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}, const std::string& body = {}) {
        std::string req = method + " " + target + " HTTP/1.1\r\nhost: " + address_ + "\r\n";
        for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
        if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
            req += "content-length: " + std::to_string(body.size()) + "\r\n";
        }
        req += "\r\n" + body;
        return SendRaw(req);
    }

    // Sends raw bytes (a whole request) and reads one answer.
    HttpReply SendRaw(const std::string& bytes) {
        if (fd_ < 0) Connect();
        WriteAll(bytes);
        return ReadReply();
    }

    // Whether the server has closed the connection (reads nothing pending).
    bool ServerClosed() {
        if (fd_ < 0) return true;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) return false;
        char c;
        return ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
    }

    int connections() const { return connections_; }

    void Close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        buffer_.clear();
    }

  private:
    void Connect() {
        const size_t colon = address_.rfind(':');
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address_.substr(colon + 1))));
        if (::inet_pton(AF_INET, address_.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
            throw std::runtime_error("bad address " + address_);
        }
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket failed");
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            Close();
            throw std::runtime_error("cannot connect to " + address_);
        }
        ++connections_;
    }

    void WriteAll(const std::string& bytes) {
        size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                // The server may answer (413, 431) and close before reading everything: read what it said.
                return;
            }
            sent += static_cast<size_t>(n);
        }
    }

    // Reads more bytes into buffer_; false on end of stream.
    bool Fill() {
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(timeout_.count()));
        if (ready <= 0) throw std::runtime_error("HTTP read timed out");
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
    }

    HttpReply ReadReply() {
        size_t end;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!Fill()) {
                Close();
                throw std::runtime_error("connection closed before an answer");
            }
        }
        HttpReply reply;
        const std::string head = buffer_.substr(0, end);
        buffer_.erase(0, end + 4);
        size_t line_end = head.find("\r\n");
        const std::string status_line = head.substr(0, line_end);
        reply.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
        size_t length = 0;
        while (line_end != std::string::npos) {
            const size_t start = line_end + 2;
            line_end = head.find("\r\n", start);
            const std::string line =
                head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
            const size_t colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            if (name == "content-length") length = std::stoul(value);
            if (name == "connection" && value == "close") reply.closed = true;
            reply.headers.emplace_back(std::move(name), std::move(value));
        }
        while (buffer_.size() < length) {
            if (!Fill()) throw std::runtime_error("connection closed in the body");
        }
        reply.body = buffer_.substr(0, length);
        buffer_.erase(0, length);
        if (reply.closed) Close();
        return reply;
    }

    std::string address_;
    std::chrono::milliseconds timeout_;
    int fd_ = -1;
    std::string buffer_;
    int connections_ = 0;
};

}  // namespace crm::test
