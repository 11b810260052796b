#pragma once
// Suppressed addresses (unsubscribed, hard bounces). Since migration 0021 a suppression never holds the address:
// suppressions.address_key is the address's blind index (audience::sealed::EmailIndex, as audience.email_index and
// email_recipients.email_index hold it), so that the sender's SQL still joins them. Suppressions kept from before
// that migration after their person's erasure hold "hmac-sha256:" + the service's keyed hash (domain/suppression.hpp),
// which the sender computes for every address it is about to mail.
#include <cstdint>
#include <string>
#include <vector>

namespace crm::common {
class Db;
}  // namespace crm::common

namespace crm::marketing::email {

// Replaces the clear addresses of suppressions written before migration 0021 by their blind index, tenant by tenant
// in batches of 500 (each its own transaction, the rows locked, beside writers and other replicas); an address whose
// index is suppressed already keeps that row. Runs before the service serves; returns the rows replaced.
std::int64_t IndexSuppressions(common::Db& db);

// The statement that reads one batch of a tenant's clear suppressions ($1 = tenant), for the EXPLAIN test.
extern const char* const kClearSuppressionsBatch;

}  // namespace crm::marketing::email
