#pragma once
// The tracking area: what the public side of a campaign does, reached through the gateway's public link routes with
// a token the service signed (the caller has the single role "public" and the token's tenant): a tracked link's visit
// recorded as a touch (and, from an email, EmailClicked), and the one-click unsubscribe (RFC 8058) that suppresses the
// recipient's address, and the open-tracking pixel of a message (its first load recorded as an open). Each re-verifies
// the token (purpose, tenant, signature) itself.
#include <string>

#include "crm/common/rpc.hpp"

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::marketing::segments {
class Segments;
}

namespace crm::marketing::tracking {

// A transparent 1x1 GIF (GIF89a, 43 bytes).
const std::string& PixelGif();

class Tracking {
  public:
    Tracking(common::Db& db, common::Outbox& outbox, segments::Segments& segments, std::string internal_key)
        : db_(db), outbox_(outbox), segments_(segments), internal_key_(std::move(internal_key)) {}

    // The URL to redirect to. NOT_FOUND for a token that is not valid for the caller's tenant or names no link.
    std::string OpenLink(const common::RequestContext& rc, const std::string& token, const std::string& visitor_id);
    // Suppresses the recipient's address (idempotent). NOT_FOUND for a token that is not valid for the caller's tenant.
    void Unsubscribe(const common::RequestContext& rc, const std::string& token);
    // Records the first open of the token's message (send and person) as an `email_opened` touch of the send's
    // campaign with TouchRecorded and EmailOpened, and refreshes the person's segments; a later load, or one of a
    // message the relay never accepted, records nothing. NOT_FOUND for a token that is not valid for the caller's
    // tenant or names no message.
    void OpenPixel(const common::RequestContext& rc, const std::string& token);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    segments::Segments& segments_;
    std::string internal_key_;
};

}  // namespace crm::marketing::tracking
