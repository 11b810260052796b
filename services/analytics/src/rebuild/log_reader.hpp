#pragma once
// Reads topics from their earliest retained offsets, for rebuilding read models. It uses its own consumer group id
// (never committed, never joined: partitions are assigned explicitly), so the live consumer's group and offsets are
// untouched. Include from the rebuild only (librdkafka stays out of headers).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace crm::analytics::rebuild {

struct LogMessage {
    const std::string& topic;
    int partition;
    int64_t offset;
    const void* data;
    size_t size;
};

class LogReader {
  public:
    // kafka: extra librdkafka properties (security settings), as for the live consumer.
    LogReader(std::string brokers, std::vector<std::string> topics, std::map<std::string, std::string> kafka);
    ~LogReader();
    LogReader(const LogReader&) = delete;
    LogReader& operator=(const LogReader&) = delete;

    // Reads every partition of every topic from where the previous call stopped (the first call: the earliest
    // retained offset) up to its end as of this call (the high watermark read now), calling fn for each message in
    // partition order. Topics that do not exist yet are skipped. Throws std::runtime_error when the broker cannot be
    // reached or the reading does not finish before the timeout.
    int64_t ReadToEnd(const std::function<void(const LogMessage&)>& fn, std::chrono::milliseconds timeout);

    const std::vector<std::string>& topics() const { return topics_; }

  private:
    struct Impl;
    std::vector<std::string> topics_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::analytics::rebuild
