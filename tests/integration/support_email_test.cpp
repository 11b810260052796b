// E-mail in and out through the gateway and the local SMTP server (Mailpit): a thread of three messages (the second
// in ISO-8859-1 quoted-printable with an attachment, answering the e-mailed reply by its Message-ID; the third in
// windows-1252, threaded only by the "[CS-n]" token of its subject) lands on one case, whose sender became a contact;
// the agent's reply arrives in Mailpit with Message-ID, In-Reply-To and References; a redelivered message is taken
// once; malformed MIME, an unknown charset and a 10 MB message are refused and write nothing; another tenant's
// Message-IDs never thread a message onto its cases.
#include <catch2/catch.hpp>

#include "../support/contacts_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/support_client.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

spv1::IngestEmailResponse Ingest(SupportClient& api, const std::string& raw) {
    spv1::IngestEmailRequest req;
    req.set_raw_message(raw);
    auto r = api.IngestEmail(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response;
}

long Count(const std::string& table, const std::string& tenant) {
    return std::stol(QueryScalar("support", "SELECT count(*) FROM " + table + " WHERE tenant_id = '" + tenant + "'"));
}

// The value of a header in a raw message ("" when absent).
std::string HeaderOf(const std::string& raw, const std::string& name) {
    const std::string key = "\r\n" + name + ": ";
    const std::size_t at = ("\r\n" + raw).find(key);
    if (at == std::string::npos) return "";
    const std::size_t start = at + key.size() - 2;
    return raw.substr(start, raw.find("\r\n", start) - start);
}

}  // namespace

TEST_CASE("support: an e-mail thread of three messages lands on one case - the reply is e-mailed with threading",
          "[integration][support][email]") {
    const std::string tenant = UniqueTenant("sm");
    const std::string token = TokenFor(tenant);
    SupportClient api(token);
    const std::string customer = "kunde." + crm::common::NewUuid().substr(0, 8) + "@example.com";
    const std::string first_id = crm::common::NewUuid() + "@mail.example.com";

    // 1. A new message: a new case, the sender created as a contact.
    const auto opened = Ingest(api, "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <" + customer +
                                        ">\r\n"
                                        "To: support@example.com\r\n"
                                        "Subject: Drucker druckt nicht\r\n"
                                        "Message-ID: <" +
                                        first_id +
                                        ">\r\n"
                                        "Content-Type: text/plain; charset=utf-8\r\n"
                                        "\r\n"
                                        "Der Drucker zeigt Fehler 42.\r\n");
    CHECK(opened.created_case());
    const spv1::Case c = opened.case_();
    CHECK(c.channel() == spv1::CHANNEL_EMAIL);
    CHECK(c.subject() == "Drucker druckt nicht");
    CHECK(c.customer_email() == customer);
    REQUIRE_FALSE(c.contact_id().empty());
    ContactsClient contacts(token);
    crm::contacts::v1::GetContactRequest get_contact;
    get_contact.set_id(c.contact_id());
    const auto contact = contacts.GetContact(get_contact);
    REQUIRE(contact.ok());
    CHECK(contact.response.contact().email() == customer);
    CHECK(contact.response.contact().given_name() == "Jürgen");
    CHECK(opened.message().author_name() == "Jürgen Müller");
    CHECK(opened.message().external_id() == first_id);

    // The same message delivered again: nothing new.
    const auto again = Ingest(api, "From: " + customer + "\r\nSubject: Drucker druckt nicht\r\nMessage-ID: <" +
                                       first_id + ">\r\n\r\nDer Drucker zeigt Fehler 42.\r\n");
    CHECK(again.duplicate());
    CHECK(again.message().id() == opened.message().id());

    // The agent's public reply goes out by e-mail with the threading headers.
    Mailpit mailpit;
    const auto reply = api.MustAddMessage(c.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "Bitte den Toner tauschen.");
    CHECK(reply.message().email_delivery() == spv1::EMAIL_DELIVERY_SENT);
    CHECK(reply.message().channel() == spv1::CHANNEL_EMAIL);
    const std::string reply_id = reply.message().external_id();
    REQUIRE_FALSE(reply_id.empty());
    const auto mails = mailpit.WaitFor(customer, 1);
    REQUIRE(mails.size() == 1);
    const std::string& raw = mails[0].raw;
    CHECK(HeaderOf(raw, "Message-ID") == "<" + reply_id + ">");
    CHECK(HeaderOf(raw, "In-Reply-To") == "<" + first_id + ">");
    CHECK(HeaderOf(raw, "References") == "<" + first_id + ">");
    CHECK(mails[0].subject == "Re: Drucker druckt nicht [CS-" + std::to_string(c.number()) + "]");

    // 2. The customer answers the reply (In-Reply-To its Message-ID): ISO-8859-1, quoted-printable, an attachment.
    const auto second = Ingest(api, "From: " + customer +
                                        "\r\n"
                                        "Subject: AW: Drucker druckt nicht\r\n"
                                        "Message-ID: <second@mail.example.com>\r\n"
                                        "In-Reply-To: <" +
                                        reply_id +
                                        ">\r\n"
                                        "References: <" +
                                        first_id + "> <" + reply_id +
                                        ">\r\n"
                                        "MIME-Version: 1.0\r\n"
                                        "Content-Type: multipart/mixed; boundary=\"=_sep\"\r\n"
                                        "\r\n"
                                        "--=_sep\r\n"
                                        "Content-Type: text/plain; charset=ISO-8859-1\r\n"
                                        "Content-Transfer-Encoding: quoted-printable\r\n"
                                        "\r\n"
                                        "Toner getauscht, immer noch Fehler. Gr=FC=DFe\r\n"
                                        "--=_sep\r\n"
                                        "Content-Type: image/png\r\n"
                                        "Content-Disposition: attachment; filename=\"fehler.png\"\r\n"
                                        "Content-Transfer-Encoding: base64\r\n"
                                        "\r\n"
                                        "iVBORw0KGgo=\r\n"
                                        "--=_sep--\r\n");
    CHECK_FALSE(second.created_case());
    CHECK(second.case_().id() == c.id());
    CHECK(second.message().body() == "Toner getauscht, immer noch Fehler. Grüße");
    REQUIRE(second.message().attachments_size() == 1);
    CHECK(second.message().attachments(0).file_name() == "fehler.png");
    CHECK(second.message().attachments(0).size_bytes() == 8);

    // 3. No threading headers, only the case token in the subject; windows-1252 text.
    const auto third =
        Ingest(api, "From: " + customer + "\r\nSubject: Noch eine Frage [CS-" + std::to_string(c.number()) +
                        "]\r\nContent-Type: text/plain; charset=windows-1252\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\nKostet das \x80 20?\r\n");
    CHECK(third.case_().id() == c.id());
    CHECK(third.message().body() == "Kostet das \u20ac 20?\n");
    CHECK(third.case_().message_count() == 4);
    CHECK(Count("cases", tenant) == 1);

    // The next reply references the whole thread.
    api.MustAddMessage(c.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "Nein.");
    const auto both = mailpit.WaitFor(customer, 2);
    REQUIRE(both.size() == 2);
    const std::string& latest = both[0].raw;  // newest first
    CHECK(HeaderOf(latest, "In-Reply-To") == "<second@mail.example.com>");
    CHECK(HeaderOf(latest, "References").find("<" + first_id + ">") == 0);
}

TEST_CASE("support: bad e-mail is INVALID_ARGUMENT on raw_message and writes nothing - tenants stay apart",
          "[integration][support][email]") {
    const std::string tenant = UniqueTenant("sm");
    SupportClient api(TokenFor(tenant));
    const std::vector<std::string> bad = {
        "",                                                                                         // empty
        "Subject: nobody sent this\r\n\r\nhi",                                                      // no From
        "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n",  // unterminated
        "From: a@b.example\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla",            // unknown charset
        "From: a@b.example\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xff\xfe\xfd",         // not UTF-8
        "From: a@b.example\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!",                        // bad base64
    };
    for (const auto& raw : bad) {
        INFO(raw.substr(0, 60));
        spv1::IngestEmailRequest req;
        req.set_raw_message(raw);
        auto r = api.IngestEmail(req);
        CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(r.status, "raw_message"));
    }
    // A 10 MB message: refused (over the 5 MiB limit, or over the transport's message size), nothing written.
    spv1::IngestEmailRequest huge;
    huge.set_raw_message("From: a@b.example\r\nSubject: big\r\n\r\n" + std::string(10 * 1024 * 1024, 'x'));
    auto big = api.IngestEmail(huge);
    CHECK((big.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
           big.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED));
    CHECK(Count("cases", tenant) == 0);
    CHECK(Count("case_messages", tenant) == 0);

    // Tenant A's Message-IDs and case numbers do not thread tenant B's mail onto A's case.
    const auto a_case =
        Ingest(api, "From: a@b.example\r\nSubject: A's problem\r\nMessage-ID: <a-1@x.example>\r\n\r\nA");
    SupportClient other(TokenFor(UniqueTenant("sm")));
    const auto b = Ingest(other, "From: c@d.example\r\nSubject: Re: [CS-" + std::to_string(a_case.case_().number()) +
                                     "] hi\r\nIn-Reply-To: <a-1@x.example>\r\n\r\nB");
    CHECK(b.created_case());
    CHECK(b.case_().id() != a_case.case_().id());
    spv1::GetCaseRequest get;
    get.set_id(a_case.case_().id());
    CHECK(api.GetCase(get).response.case_().message_count() == 1);
}
