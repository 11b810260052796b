#include "crm/common/mail.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

using namespace crm::common::mail;

namespace {

Message Sample() {
    Message m;
    m.from = {"news@acme.example", "Acme News"};
    m.to = {{"ada@example.com", "Ada Lovelace"}};
    m.subject = "Hello";
    m.text = "Hi Ada";
    return m;
}

const auto kDate = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));  // 2026-01-01

// Decodes the base64 lines of a part body (test helper, standard alphabet).
std::string Unbase64(const std::string& in) {
    static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (char c : in) {
        const auto p = kAlphabet.find(c);
        if (p == std::string::npos) continue;
        buf = (buf << 6) | static_cast<unsigned>(p);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xFF));
        }
    }
    return out;
}

// A one-connection-at-a-time SMTP server on loopback that answers RCPT with `rcpt_reply` and records DATA.
class FakeSmtp {
  public:
    explicit FakeSmtp(std::string rcpt_reply) : rcpt_reply_(std::move(rcpt_reply)) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        listen(fd_, 4);
        thread_ = std::thread([this] { Serve(); });
    }
    ~FakeSmtp() {
        shutdown(fd_, SHUT_RDWR);
        close(fd_);
        thread_.join();
    }
    int port() const { return port_; }
    std::string data() const { return data_; }

  private:
    void Serve() {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        auto say = [c](const std::string& s) { (void)!write(c, s.data(), s.size()); };
        say("220 fake ESMTP\r\n");
        std::string pending;
        bool in_data = false;
        char buf[4096];
        for (;;) {
            const ssize_t n = read(c, buf, sizeof buf);
            if (n <= 0) break;
            pending.append(buf, static_cast<size_t>(n));
            for (std::size_t eol; (eol = pending.find("\r\n")) != std::string::npos;) {
                const std::string line = pending.substr(0, eol);
                pending.erase(0, eol + 2);
                if (in_data) {
                    if (line == ".") {
                        in_data = false;
                        say("250 queued\r\n");
                    } else {
                        data_ += line + "\r\n";
                    }
                } else if (line.rfind("EHLO", 0) == 0 || line.rfind("HELO", 0) == 0) {
                    say("250 fake\r\n");
                } else if (line.rfind("MAIL FROM", 0) == 0) {
                    say("250 ok\r\n");
                } else if (line.rfind("RCPT TO", 0) == 0) {
                    say(rcpt_reply_ + "\r\n");
                } else if (line == "DATA") {
                    in_data = true;
                    say("354 go on\r\n");
                } else if (line == "QUIT") {
                    say("221 bye\r\n");
                    close(c);
                    return;
                } else {
                    say("250 ok\r\n");
                }
            }
        }
        close(c);
    }
    std::string rcpt_reply_;
    int fd_ = -1;
    int port_ = 0;
    std::string data_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("mail: a plain message has the headers and a base64 text part") {
    const std::string raw = Build(Sample(), kDate);
    CHECK(raw.find("From: \"Acme News\" <news@acme.example>\r\n") != std::string::npos);
    CHECK(raw.find("To: \"Ada Lovelace\" <ada@example.com>\r\n") != std::string::npos);
    CHECK(raw.find("Subject: Hello\r\n") != std::string::npos);
    CHECK(raw.find("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n") != std::string::npos);
    CHECK(raw.find("Message-ID: <") != std::string::npos);
    CHECK(raw.find("Content-Type: text/plain; charset=UTF-8\r\n") != std::string::npos);
    const auto body = raw.substr(raw.find("\r\n\r\n") + 4);
    CHECK(Unbase64(body) == "Hi Ada");
}

TEST_CASE("mail: HTML makes a multipart/alternative with both parts") {
    Message m = Sample();
    m.html = "<p>Hi <b>Ada</b></p>";
    m.headers = {{"List-Unsubscribe", "<https://crm.example/u/abc>"},
                 {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}};
    const std::string raw = Build(m, kDate);
    CHECK(raw.find("Content-Type: multipart/alternative; boundary=\"crm-") != std::string::npos);
    CHECK(raw.find("Content-Type: text/html; charset=UTF-8") != std::string::npos);
    CHECK(raw.find("List-Unsubscribe: <https://crm.example/u/abc>\r\n") != std::string::npos);
    CHECK(raw.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n") != std::string::npos);
}

TEST_CASE("mail: non-ASCII headers become encoded words - the body is never able to add headers") {
    Message m = Sample();
    m.subject = "Grüße aus Köln";
    m.to = {{"jose@example.com", "José Müller"}};
    m.text = "line\r\nBcc: victim@example.com\r\n\r\nbody";  // header-looking text stays inside the base64 body
    const std::string raw = Build(m, kDate);
    CHECK(raw.find("Subject: =?UTF-8?B?") != std::string::npos);
    CHECK(raw.find("Grüße") == std::string::npos);
    CHECK(raw.find("To: =?UTF-8?B?") != std::string::npos);
    CHECK(raw.find("\r\nBcc:") == std::string::npos);
    for (char c : raw) CHECK(static_cast<unsigned char>(c) < 0x80);  // 7-bit clean
}

TEST_CASE("mail: header injection is refused") {
    Message m = Sample();
    m.subject = "Hi\r\nBcc: victim@example.com";
    CHECK_THROWS_AS(Build(m, kDate), std::invalid_argument);
    m = Sample();
    m.headers = {{"X-Tag", "a\nb"}};
    CHECK_THROWS_AS(Build(m, kDate), std::invalid_argument);
    m = Sample();
    m.headers = {{"Bad Name", "x"}};
    CHECK_THROWS_AS(Build(m, kDate), std::invalid_argument);
    m = Sample();
    m.to = {{"ada@example.com\r\nBcc: x@y.z", ""}};
    CHECK_THROWS_AS(Build(m, kDate), std::invalid_argument);
    m = Sample();
    m.from.display_name = "Acme\r\nX: y";
    CHECK_THROWS_AS(Build(m, kDate), std::invalid_argument);
}

TEST_CASE("mail: deliverable addresses") {
    CHECK(IsDeliverableAddress("ada@example.com"));
    CHECK(IsDeliverableAddress("a.b+tag@mail.example.co.uk"));
    CHECK_FALSE(IsDeliverableAddress("ada@localhost"));
    CHECK_FALSE(IsDeliverableAddress("@example.com"));
    CHECK_FALSE(IsDeliverableAddress("a@@example.com"));
    CHECK_FALSE(IsDeliverableAddress("a b@example.com"));
    CHECK_FALSE(IsDeliverableAddress("<a@example.com>"));
    CHECK_FALSE(IsDeliverableAddress("a@example..com"));
    CHECK_FALSE(IsDeliverableAddress(std::string(250, 'a') + "@example.com"));
}

TEST_CASE("mail relay: accepted, temporary and permanent outcomes from the SMTP replies") {
    const std::string raw = Build(Sample(), kDate);
    {
        FakeSmtp smtp("250 ok");
        Relay relay({.url = "smtp://127.0.0.1:" + std::to_string(smtp.port()), .timeout = std::chrono::seconds(5)});
        const Result r = relay.Send("news@acme.example", {"ada@example.com"}, raw);
        CHECK(r.outcome == Outcome::kAccepted);
        CHECK(r.smtp_code == 250);
    }
    {
        FakeSmtp smtp("450 mailbox busy, try later");
        Relay relay({.url = "smtp://127.0.0.1:" + std::to_string(smtp.port()), .timeout = std::chrono::seconds(5)});
        const Result r = relay.Send("news@acme.example", {"ada@example.com"}, raw);
        CHECK(r.outcome == Outcome::kTemporaryFailure);
        CHECK(r.smtp_code == 450);
    }
    {
        FakeSmtp smtp("550 no such user");
        Relay relay({.url = "smtp://127.0.0.1:" + std::to_string(smtp.port()), .timeout = std::chrono::seconds(5)});
        const Result r = relay.Send("news@acme.example", {"nobody@example.com"}, raw);
        CHECK(r.outcome == Outcome::kPermanentFailure);
        CHECK(r.smtp_code == 550);
    }
    {
        // Nothing listens: a connection failure is temporary.
        int port = 0;
        {
            FakeSmtp probe("250 ok");
            port = probe.port();
            Relay({.url = "smtp://127.0.0.1:" + std::to_string(port)}).Send("a@b.example", {"c@d.example"}, raw);
        }
        Relay relay({.url = "smtp://127.0.0.1:" + std::to_string(port), .timeout = std::chrono::seconds(2)});
        const Result r = relay.Send("news@acme.example", {"ada@example.com"}, raw);
        CHECK(r.outcome == Outcome::kTemporaryFailure);
        CHECK(r.smtp_code == 0);
    }
}

TEST_CASE("mail relay: the message arrives byte for byte (dot-stuffing undone by the server)") {
    Message m = Sample();
    m.text = ".leading dot line\n.";
    const std::string raw = Build(m, kDate);
    FakeSmtp smtp("250 ok");
    Relay relay({.url = "smtp://127.0.0.1:" + std::to_string(smtp.port()), .timeout = std::chrono::seconds(5)});
    REQUIRE(relay.Send("news@acme.example", {"ada@example.com"}, raw).outcome == Outcome::kAccepted);
    CHECK(smtp.data().find("Subject: Hello") != std::string::npos);
}
