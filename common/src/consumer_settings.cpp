// The consumer runtime's settings and pure helpers (consumer.hpp); the runtime itself is in consumer.cpp.
#include <crm/common/v1/event.pb.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "crm/common/consumer.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/identity.hpp"

namespace crm::common {
namespace {

constexpr char kDlqPrefix[] = "crm_dlq_";
constexpr size_t kMaxErrorBytes = 1000;

std::string Truncate(std::string_view text, size_t max) {
    return std::string(text.substr(0, std::min(text.size(), max)));
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Settings and pure helpers

void ConsumerSettings::Complete(const std::string& service) {
    if (group_id.empty()) group_id = "crm-" + service;
    if (name.empty()) name = group_id;
    std::vector<std::string> problems;
    if (brokers.empty()) problems.push_back("brokers is empty");
    if (topics.empty()) problems.push_back("no topics");
    for (const auto& t : topics) {
        if (t.empty()) problems.push_back("an empty topic name");
    }
    if (commit_batch < 1) problems.push_back("commit_batch must be at least 1");
    if (commit_interval.count() < 0) problems.push_back("commit_interval must not be negative");
    if (poll_timeout.count() < 1) problems.push_back("poll_timeout must be positive");
    if (max_attempts < 1) problems.push_back("max_attempts must be at least 1");
    if (retry_backoff.count() < 0 || retry_backoff_max < retry_backoff) {
        problems.push_back("retry_backoff must be between 0 and retry_backoff_max");
    }
    if (!(retry_multiplier >= 1.0)) problems.push_back("retry_multiplier must be at least 1");
    if (dlq_suffix.empty()) problems.push_back("dlq_suffix is empty");
    if (dlq_timeout.count() < 1) problems.push_back("dlq_timeout must be positive");
    if (session_timeout.count() < 1 || heartbeat_interval.count() < 1 || heartbeat_interval >= session_timeout) {
        problems.push_back("heartbeat_interval must be positive and below session_timeout");
    }
    if (max_poll_interval < session_timeout) problems.push_back("max_poll_interval must be at least session_timeout");
    if (lag_interval.count() < 1) problems.push_back("lag_interval must be positive");
    if (processed_retention.count() < 0) problems.push_back("processed_retention must not be negative");
    if (!problems.empty()) {
        std::string text = "consumer " + name + ":";
        for (size_t i = 0; i < problems.size(); ++i) text += (i ? "; " : " ") + problems[i];
        throw std::invalid_argument(text);
    }
}

const std::string& ConsumedEvent::event_id() const { return envelope.event_id(); }
const std::string& ConsumedEvent::event_type() const { return envelope.event_type(); }
const std::string& ConsumedEvent::tenant_id() const { return envelope.tenant_id(); }

const std::string* ConsumedEvent::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k == name) return &v;
    }
    return nullptr;
}

std::chrono::milliseconds RetryDelay(const ConsumerSettings& s, int failed_attempt) {
    const double exponent = std::max(0, failed_attempt - 1);
    const double ms = static_cast<double>(s.retry_backoff.count()) * std::pow(s.retry_multiplier, exponent);
    const double cap = static_cast<double>(s.retry_backoff_max.count());
    return std::chrono::milliseconds(static_cast<int64_t>(std::min(ms, cap)));
}

KafkaHeaders DeadLetterHeaders(const KafkaHeaders& original, const DeadLetterInfo& info) {
    KafkaHeaders out;
    for (const auto& h : original) {
        if (h.first.rfind(kDlqPrefix, 0) != 0) out.push_back(h);
    }
    out.emplace_back("crm_dlq_error", Truncate(info.error, kMaxErrorBytes));
    out.emplace_back("crm_dlq_attempts", std::to_string(info.attempts));
    out.emplace_back("crm_dlq_consumer", info.consumer);
    out.emplace_back("crm_dlq_topic", info.topic);
    out.emplace_back("crm_dlq_partition", std::to_string(info.partition));
    out.emplace_back("crm_dlq_offset", std::to_string(info.offset));
    return out;
}

std::string EnvelopeProblem(const v1::EventEnvelope& envelope) {
    if (!IsUuid(envelope.event_id())) return "event_id is not a UUID";
    if (!IsValidTenantId(envelope.tenant_id())) return "tenant_id is missing or invalid";
    if (envelope.event_type().empty()) return "event_type is missing";
    return "";
}

std::map<std::string, std::string> ConsumerKafkaConfig(const ConsumerSettings& s) {
    std::map<std::string, std::string> props{
        {"bootstrap.servers", s.brokers},
        {"group.id", s.group_id},
        {"client.id", s.name},
        {"enable.auto.commit", "false"},        // committed by the runtime after the transaction
        {"enable.auto.offset.store", "false"},  // offsets are committed explicitly, never from the store
        {"auto.offset.reset", "earliest"},      // a new group applies everything retained
        {"enable.partition.eof", "false"},
        {"isolation.level", "read_committed"},
        {"session.timeout.ms", std::to_string(s.session_timeout.count())},
        {"heartbeat.interval.ms", std::to_string(s.heartbeat_interval.count())},
        {"max.poll.interval.ms", std::to_string(s.max_poll_interval.count())},
    };
    for (const auto& [k, v] : s.kafka) props[k] = v;
    return props;
}

std::map<std::string, std::string> DeadLetterProducerConfig(const ConsumerSettings& s) {
    std::map<std::string, std::string> props{
        {"bootstrap.servers", s.brokers},
        {"client.id", s.name + "-dlq"},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "0"},
        {"message.timeout.ms", std::to_string(s.dlq_timeout.count())},
    };
    for (const auto& [k, v] : s.kafka) props[k] = v;
    return props;
}

}  // namespace crm::common
