#include "contacts_client.hpp"

#include <catch2/catch.hpp>

namespace crm::test {

cv1::Contact ContactsClient::MustCreate(const std::string& given, const std::string& family, const std::string& email,
                                        const std::string& phone, const std::string& request_id) {
    cv1::CreateContactRequest req;
    req.mutable_contact()->set_given_name(given);
    req.mutable_contact()->set_family_name(family);
    req.mutable_contact()->set_email(email);
    req.mutable_contact()->set_phone(phone);
    req.set_request_id(request_id);
    auto r = CreateContact(req);
    INFO("CreateContact: " << r.status.error_code() << " " << r.status.error_message());
    REQUIRE(r.ok());
    return r.response.contact();
}

}  // namespace crm::test
