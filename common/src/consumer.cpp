#include "crm/common/consumer.hpp"

#include <crm/common/v1/event.pb.h>
#include <cxxabi.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/identity.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/personal_fields.hpp"

namespace crm::common {

namespace {
// Recorded in the transaction of the effect: 0 rows inserted means the event was applied before.
constexpr Sql kMarkProcessed{"consumer_mark_processed", R"SQL(
INSERT INTO crm_processed_events (consumer, event_id, tenant_id, topic, kafka_partition, kafka_offset)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
)SQL"};
// Upkeep across tenants: crm.maintenance = 'on' opens the maintenance policies for this transaction only.
constexpr Sql kMaintenanceOn{"consumer_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
constexpr Sql kDeleteProcessed{"consumer_delete_processed", R"SQL(
DELETE FROM crm_processed_events WHERE (consumer, event_id) IN (
  SELECT consumer, event_id FROM crm_processed_events
  WHERE consumer = $1 AND processed_at < clock_timestamp() - make_interval(secs => $2) LIMIT 5000)
)SQL"};

constexpr size_t kMaxErrorBytes = 1000;
constexpr auto kMaintenanceInterval = std::chrono::hours(1);

std::string Truncate(std::string_view text, size_t max) {
    return std::string(text.substr(0, std::min(text.size(), max)));
}

// The dynamic type of an exception, for logs: exception texts may quote personal data, type names never do.
std::string TypeName(const std::exception& e) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status),
                                                std::free);
    return status == 0 && name ? name.get() : typeid(e).name();
}

struct Failure {
    std::string kind;   // safe for logs
    std::string error;  // exception text; only in the DLQ headers
    bool unavailable = false;
    bool permanent = false;
};

Failure Classify(const std::exception& e) {
    Failure f{TypeName(e), Truncate(e.what(), kMaxErrorBytes)};
    if (const auto* api = dynamic_cast<const ApiError*>(&e)) {
        f.kind = std::string("ApiError ") + StatusCodeName(api->code()) + " " + api->reason();
        f.unavailable = api->code() == grpc::StatusCode::UNAVAILABLE;
    } else if (dynamic_cast<const pqxx::broken_connection*>(&e) || dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
        // In doubt: the commit may have happened; the retry then finds the processed row and skips.
        f.unavailable = true;
    } else if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
        const std::string state = sql->sqlstate();
        f.kind = "sql_error " + state;
        // Class 08: connection exceptions; 57P0x: the server is shutting down or starting.
        f.unavailable = state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
    } else if (dynamic_cast<const PermanentEventError*>(&e)) {
        f.permanent = true;
    }
    return f;
}

KafkaHeaders ReadHeaders(RdKafka::Message& msg) {
    KafkaHeaders out;
    if (const RdKafka::Headers* hs = msg.headers()) {
        for (const auto& h : hs->get_all()) {
            out.emplace_back(
                h.key(), h.value() ? std::string(static_cast<const char*>(h.value()), h.value_size()) : std::string());
        }
    }
    return out;
}

using PartitionKey = std::pair<std::string, int>;

std::string Describe(const std::vector<RdKafka::TopicPartition*>& parts) {
    std::string out;
    for (const auto* tp : parts) out += (out.empty() ? "" : ",") + tp->topic() + "/" + std::to_string(tp->partition());
    return out;
}

std::unique_ptr<RdKafka::Conf> MakeConf(const std::map<std::string, std::string>& props) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [k, v] : props) {
        if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error("Kafka setting " + k + ": " + err);
    }
    return conf;
}

struct Delivery {
    bool done = false;
    RdKafka::ErrorCode err = RdKafka::ERR_NO_ERROR;
};

class DeliveryReports : public RdKafka::DeliveryReportCb {
  public:
    void dr_cb(RdKafka::Message& message) override {
        auto* d = static_cast<Delivery*>(message.msg_opaque());
        if (!d) return;
        d->err = message.err();
        d->done = true;
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Runtime

struct EventConsumer::Impl : public RdKafka::RebalanceCb, public RdKafka::EventCb {
    const ConsumerSettings& s;
    Metrics& metrics;
    const ApplyFn& apply;
    const std::atomic<bool>& stop;
    DeliveryReports reports;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer;
    std::unique_ptr<RdKafka::Producer> producer;

    std::map<PartitionKey, int64_t> done;  // next offset to commit, per partition
    int uncommitted = 0;
    std::chrono::steady_clock::time_point last_commit = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_lag{};
    std::string last_error;  // last consumer error logged, to log a repeating one once

    prometheus::Family<prometheus::Counter>& consumed_family;
    prometheus::Family<prometheus::Counter>& skipped_family;
    prometheus::Family<prometheus::Counter>& failed_family;
    prometheus::Family<prometheus::Counter>& dead_family;
    prometheus::Family<prometheus::Histogram>& seconds_family;
    prometheus::Family<prometheus::Gauge>& lag_family;
    prometheus::Family<prometheus::Histogram>& freshness_family;
    struct TopicMetrics {
        prometheus::Counter* consumed;
        prometheus::Counter* skipped;
        prometheus::Counter* failed;
        prometheus::Counter* dead;
        prometheus::Histogram* seconds;
        prometheus::Histogram* freshness;
    };
    std::map<std::string, TopicMetrics> topic_metrics;
    std::map<PartitionKey, prometheus::Gauge*> lag_gauges;

    Impl(const ConsumerSettings& settings, Metrics& m, const ApplyFn& apply_fn, const std::atomic<bool>& stop_flag)
        : s(settings),
          metrics(m),
          apply(apply_fn),
          stop(stop_flag),
          consumed_family(prometheus::BuildCounter()
                              .Name("crm_kafka_consumed_total")
                              .Help("Events applied by a consumer (the handler's transaction committed).")
                              .Register(m.registry())),
          skipped_family(prometheus::BuildCounter()
                             .Name("crm_kafka_skipped_total")
                             .Help("Redelivered events skipped because they had been applied before.")
                             .Register(m.registry())),
          failed_family(prometheus::BuildCounter()
                            .Name("crm_kafka_failed_total")
                            .Help("Failed attempts to apply an event (each retry counts).")
                            .Register(m.registry())),
          dead_family(prometheus::BuildCounter()
                          .Name("crm_kafka_dead_lettered_total")
                          .Help("Messages published to the dead-letter topic and passed over.")
                          .Register(m.registry())),
          seconds_family(prometheus::BuildHistogram()
                             .Name("crm_kafka_handle_seconds")
                             .Help("Time from taking a message to finishing it, retries included.")
                             .Register(m.registry())),
          lag_family(prometheus::BuildGauge()
                         .Name("crm_kafka_consumer_lag")
                         .Help("Messages behind the end of the partition (high watermark minus position).")
                         .Register(m.registry())),
          freshness_family(prometheus::BuildHistogram()
                               .Name("crm_kafka_event_freshness_seconds")
                               .Help("Time from an event's commit in the producing service (occurred_at) to this "
                                     "consumer applying it.")
                               .Register(m.registry())) {}

    TopicMetrics& For(const std::string& topic) {
        auto it = topic_metrics.find(topic);
        if (it != topic_metrics.end()) return it->second;
        const std::map<std::string, std::string> labels{
            {"service", metrics.service()}, {"consumer", s.name}, {"topic", topic}};
        TopicMetrics tm{
            &consumed_family.Add(labels),
            &skipped_family.Add(labels),
            &failed_family.Add(labels),
            &dead_family.Add(labels),
            &seconds_family.Add(labels, Metrics::LatencyBuckets()),
            &freshness_family.Add(labels, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                                                                  30, 60, 300, 900, 3600})};
        return topic_metrics.emplace(topic, tm).first->second;
    }

    log::Fields Where(RdKafka::Message& msg) const {
        return {{"consumer", s.name},
                {"topic", msg.topic_name()},
                {"partition", std::to_string(msg.partition())},
                {"offset", std::to_string(msg.offset())}};
    }

    void Create() {
        std::string err;
        auto conf = MakeConf(ConsumerKafkaConfig(s));
        if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK ||
            conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) != RdKafka::Conf::CONF_OK) {
            throw std::runtime_error(err);
        }
        consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!consumer) throw std::runtime_error("cannot create Kafka consumer: " + err);

        auto pconf = MakeConf(DeadLetterProducerConfig(s));
        if (pconf->set("dr_cb", &reports, err) != RdKafka::Conf::CONF_OK ||
            pconf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) != RdKafka::Conf::CONF_OK) {
            throw std::runtime_error(err);
        }
        producer.reset(RdKafka::Producer::create(pconf.get(), err));
        if (!producer) throw std::runtime_error("cannot create Kafka producer: " + err);

        const RdKafka::ErrorCode e = consumer->subscribe(s.topics);
        if (e != RdKafka::ERR_NO_ERROR) throw std::runtime_error("cannot subscribe: " + RdKafka::err2str(e));
    }

    // -- librdkafka callbacks (served on the consumer thread, inside consume() and close()) --

    void event_cb(RdKafka::Event& event) override {
        if (event.type() != RdKafka::Event::EVENT_ERROR) return;
        if (event.fatal()) {
            log::Error("kafka fatal error", {{"consumer", s.name}, {"error", RdKafka::err2str(event.err())}});
        } else {
            log::Warn("kafka client error",
                      {{"consumer", s.name}, {"error", RdKafka::err2str(event.err())}, {"detail", event.str()}});
        }
    }

    void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& parts) override {
        const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            log::Info("partitions assigned", {{"consumer", s.name}, {"partitions", Describe(parts)}});
            if (cooperative) {
                std::unique_ptr<RdKafka::Error> e(c->incremental_assign(parts));
                if (e) log::Error("assign failed", {{"consumer", s.name}, {"error", e->str()}});
            } else {
                c->assign(parts);
            }
            return;
        }
        if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
            // Whatever is finished is committed before another member takes the partitions over.
            if (!c->assignment_lost()) Commit(&parts);
            for (const auto* tp : parts) {
                const PartitionKey key{tp->topic(), tp->partition()};
                done.erase(key);
                auto g = lag_gauges.find(key);
                if (g != lag_gauges.end()) {
                    lag_family.Remove(g->second);
                    lag_gauges.erase(g);
                }
            }
            log::Info("partitions revoked", {{"consumer", s.name},
                                             {"partitions", Describe(parts)},
                                             {"lost", c->assignment_lost() ? "true" : "false"}});
            if (cooperative) {
                std::unique_ptr<RdKafka::Error> e(c->incremental_unassign(parts));
                if (e) log::Error("unassign failed", {{"consumer", s.name}, {"error", e->str()}});
            } else {
                c->unassign();
            }
            return;
        }
        log::Error("rebalance error", {{"consumer", s.name}, {"error", RdKafka::err2str(err)}});
        c->unassign();
        done.clear();
    }

    // -- offsets --

    // Commits the finished offsets (of `only`'s partitions when given). A failed commit is kept for the next try;
    // should the partitions move meanwhile, the new owner redelivers and the processed-events table skips.
    void Commit(const std::vector<RdKafka::TopicPartition*>* only = nullptr) {
        std::vector<RdKafka::TopicPartition*> offsets;
        for (const auto& [key, next] : done) {
            if (only && std::none_of(only->begin(), only->end(), [&](const RdKafka::TopicPartition* tp) {
                    return tp->topic() == key.first && tp->partition() == key.second;
                })) {
                continue;
            }
            offsets.push_back(RdKafka::TopicPartition::create(key.first, key.second, next));
        }
        last_commit = std::chrono::steady_clock::now();
        if (!only) uncommitted = 0;
        if (offsets.empty()) return;
        const RdKafka::ErrorCode err = consumer->commitSync(offsets);
        if (err == RdKafka::ERR_NO_ERROR) {
            for (const auto* tp : offsets) {
                auto it = done.find({tp->topic(), tp->partition()});
                if (tp->err() == RdKafka::ERR_NO_ERROR && it != done.end() && it->second == tp->offset()) {
                    done.erase(it);
                }
            }
        } else {
            log::Warn("offset commit failed; will retry",
                      {{"consumer", s.name}, {"error", RdKafka::err2str(err)}, {"partitions", Describe(offsets)}});
        }
        RdKafka::TopicPartition::destroy(offsets);
    }

    void MaybeCommit() {
        if (uncommitted >= s.commit_batch ||
            (uncommitted > 0 && std::chrono::steady_clock::now() - last_commit >= s.commit_interval)) {
            Commit();
        }
    }

    // -- lag --

    void MaybeUpdateLag() {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_lag < s.lag_interval) return;
        last_lag = now;
        std::vector<RdKafka::TopicPartition*> parts;
        if (consumer->assignment(parts) != RdKafka::ERR_NO_ERROR || parts.empty()) {
            RdKafka::TopicPartition::destroy(parts);
            return;
        }
        consumer->position(parts);
        // Partitions with no message taken yet in this assignment: measure from the committed offset.
        std::vector<RdKafka::TopicPartition*> unknown;
        for (auto* tp : parts) {
            if (tp->offset() < 0) unknown.push_back(RdKafka::TopicPartition::create(tp->topic(), tp->partition()));
        }
        if (!unknown.empty()) consumer->committed(unknown, 1000);
        for (auto* tp : parts) {
            int64_t low = -1, high = -1;
            if (consumer->get_watermark_offsets(tp->topic(), tp->partition(), &low, &high) != RdKafka::ERR_NO_ERROR ||
                high < 0) {
                continue;
            }
            int64_t position = tp->offset();
            if (position < 0) {
                for (const auto* u : unknown) {
                    if (u->topic() == tp->topic() && u->partition() == tp->partition()) position = u->offset();
                }
            }
            if (position < 0) position = low;  // nothing committed: everything retained is ahead
            if (position < 0) continue;
            const PartitionKey key{tp->topic(), tp->partition()};
            auto it = lag_gauges.find(key);
            if (it == lag_gauges.end()) {
                it = lag_gauges
                         .emplace(key, &lag_family.Add({{"service", metrics.service()},
                                                        {"consumer", s.name},
                                                        {"topic", tp->topic()},
                                                        {"partition", std::to_string(tp->partition())}}))
                         .first;
            }
            it->second->Set(static_cast<double>(std::max<int64_t>(0, high - position)));
        }
        RdKafka::TopicPartition::destroy(unknown);
        RdKafka::TopicPartition::destroy(parts);
    }

    // -- one message --

    enum class Outcome { kFinished, kAbandoned };

    // Waits, watching for Stop(); false when stopping.
    bool Sleep(std::chrono::milliseconds delay) {
        const auto until = std::chrono::steady_clock::now() + delay;
        while (!stop) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= until) return true;
            std::this_thread::sleep_for(
                std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)));
        }
        return false;
    }

    Outcome Process(RdKafka::Message& msg) {
        const auto start = std::chrono::steady_clock::now();
        TopicMetrics& tm = For(msg.topic_name());
        const KafkaHeaders headers = ReadHeaders(msg);
        auto finish = [&] {
            tm.seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            return Outcome::kFinished;
        };

        v1::EventEnvelope envelope;
        std::string problem;
        if (!envelope.ParseFromArray(msg.payload(), static_cast<int>(msg.len()))) {
            problem = "envelope cannot be parsed";
        } else {
            problem = EnvelopeProblem(envelope);
        }
        if (!problem.empty()) {
            auto fields = Where(msg);
            fields.emplace_back("problem", problem);
            log::Error("unusable event; dead-lettering", fields);
            if (DeadLetter(msg, headers, {problem, 0, s.name, msg.topic_name(), msg.partition(), msg.offset()}, tm) ==
                Outcome::kAbandoned) {
                return Outcome::kAbandoned;
            }
            return finish();
        }

        const ConsumedEvent event{
            envelope, msg.topic_name(), msg.partition(), msg.offset(), msg.key() ? *msg.key() : std::string(), headers};
        int attempt = 0;  // attempts that count toward max_attempts
        int outages = 0;  // consecutive failures because a dependency was unavailable
        for (;;) {
            ++attempt;
            Failure failure;
            try {
                const bool applied = apply(event);
                (applied ? tm.consumed : tm.skipped)->Increment();
                if (applied && envelope.has_occurred_at()) {
                    const double committed =
                        static_cast<double>(envelope.occurred_at().seconds()) + envelope.occurred_at().nanos() / 1e9;
                    const double now =
                        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
                    tm.freshness->Observe(std::max(0.0, now - committed));
                }
                if (!applied) {
                    log::Debug("duplicate event skipped",
                               {{"consumer", s.name}, {"event_id", event.event_id()}, {"topic", event.topic}});
                }
                return finish();
            } catch (const std::exception& e) {
                failure = Classify(e);
            } catch (...) {
                failure = {"unknown exception", "unknown exception (not derived from std::exception)"};
            }
            tm.failed->Increment();
            auto fields = Where(msg);
            fields.insert(fields.end(), {{"event_id", event.event_id()},
                                         {"event_type", event.event_type()},
                                         {"tenant", event.tenant_id()},
                                         {"error_kind", failure.kind}});
            std::chrono::milliseconds delay{};
            if (failure.unavailable) {
                // Not the message's fault: wait for the dependency without using up attempts.
                --attempt;
                ++outages;
                delay = RetryDelay(s, std::min(outages, 30));
                fields.emplace_back("retry_in_ms", std::to_string(delay.count()));
                log::Warn("dependency unavailable; retrying event", fields);
            } else if (failure.permanent || attempt >= s.max_attempts) {
                fields.emplace_back("attempts", std::to_string(attempt));
                log::Error("event failed; dead-lettering", fields);
                if (DeadLetter(msg, headers,
                               {failure.error, attempt, s.name, msg.topic_name(), msg.partition(), msg.offset()},
                               tm) == Outcome::kAbandoned) {
                    return Outcome::kAbandoned;
                }
                return finish();
            } else {
                outages = 0;
                delay = RetryDelay(s, attempt);
                fields.insert(fields.end(),
                              {{"attempt", std::to_string(attempt)}, {"retry_in_ms", std::to_string(delay.count())}});
                log::Warn("event failed; retrying", fields);
            }
            if (!Sleep(delay)) return Outcome::kAbandoned;
        }
    }

    // Publishes to <topic><dlq_suffix> and waits for the acknowledgement; retries until it is had or Stop().
    Outcome DeadLetter(RdKafka::Message& msg, const KafkaHeaders& original, const DeadLetterInfo& info,
                       TopicMetrics& tm) {
        const std::string topic = msg.topic_name() + s.dlq_suffix;
        const KafkaHeaders headers = DeadLetterHeaders(original, info);
        for (int attempt = 1;; ++attempt) {
            const RdKafka::ErrorCode err = Produce(topic, msg, headers);
            if (err == RdKafka::ERR_NO_ERROR) {
                tm.dead->Increment();
                auto fields = Where(msg);
                fields.emplace_back("dlq_topic", topic);
                log::Warn("message dead-lettered", fields);
                return Outcome::kFinished;
            }
            auto fields = Where(msg);
            fields.emplace_back("error", RdKafka::err2str(err));
            log::Error("dead-letter publish failed; retrying", fields);
            if (!Sleep(RetryDelay(s, std::min(attempt, 30)))) return Outcome::kAbandoned;
        }
    }

    RdKafka::ErrorCode Produce(const std::string& topic, RdKafka::Message& msg, const KafkaHeaders& headers) {
        Delivery delivery;
        for (;;) {
            RdKafka::Headers* hs = RdKafka::Headers::create();
            for (const auto& [k, v] : headers) hs->add(k, v.data(), v.size());
            const RdKafka::ErrorCode err = producer->produce(
                topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, const_cast<void*>(msg.payload()),
                msg.len(), msg.key_pointer(), msg.key_len(), 0, hs, &delivery);
            if (err == RdKafka::ERR_NO_ERROR) break;
            delete hs;  // ownership passes to librdkafka only on success
            if (err != RdKafka::ERR__QUEUE_FULL) return err;
            producer->poll(50);
        }
        // message.timeout.ms bounds the wait: every produced message gets its report.
        while (!delivery.done) producer->poll(50);
        return delivery.err;
    }
};

EventConsumer::EventConsumer(ConsumerSettings settings, Metrics& metrics, ApplyFn apply)
    : settings_(std::move(settings)), metrics_(metrics), apply_(std::move(apply)) {
    settings_.Complete(metrics_.service());
    if (!apply_) throw std::invalid_argument("consumer " + settings_.name + ": no handler");
}

EventConsumer::EventConsumer(ConsumerSettings settings, Db& db, Metrics& metrics, EventHandler handler)
    : EventConsumer(std::move(settings), metrics, [](const ConsumedEvent&) { return false; }) {
    if (!handler) throw std::invalid_argument("consumer " + settings_.name + ": no handler");
    apply_ = [&db, consumer = settings_.name, handler = std::move(handler),
              keys = settings_.keys](const ConsumedEvent& received) {
        // Personal fields opened before the transaction (asking the producer for a key must not hold a connection).
        std::optional<v1::EventEnvelope> opened;
        std::optional<ConsumedEvent> opened_event;
        if (keys) {
            opened.emplace(received.envelope);
            if (privacy::OpenEnvelope(*opened, *keys) > 0) {
                opened_event.emplace(ConsumedEvent{*opened, received.topic, received.partition, received.offset,
                                                   received.key, received.headers});
            }
        }
        const ConsumedEvent& ev = opened_event ? *opened_event : received;
        return db.InTenant(ev.tenant_id(), [&](pqxx::work& tx) {
            const pqxx::result r =
                db.Exec(tx, kMarkProcessed, consumer, ev.event_id(), ev.tenant_id(), ev.topic, ev.partition, ev.offset);
            if (r.affected_rows() == 0) return false;  // applied before
            handler(tx, ev);
            return true;
        });
    };
    if (settings_.processed_retention.count() > 0) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(settings_.processed_retention).count();
        maintain_ = [&db, consumer = settings_.name, seconds] {
            size_t deleted = 0;
            do {
                deleted = db.InTenant(std::string(), [&](pqxx::work& tx) {
                    db.Exec(tx, kMaintenanceOn);
                    return db.Exec(tx, kDeleteProcessed, consumer, seconds).affected_rows();
                });
            } while (deleted == 5000);
        };
    }
}

EventConsumer::~EventConsumer() { Stop(); }

void EventConsumer::Start() {
    if (thread_.joinable()) throw std::logic_error("consumer " + settings_.name + " already started");
    stop_ = false;
    impl_ = std::make_unique<Impl>(settings_, metrics_, apply_, stop_);
    impl_->Create();
    log::Info("consumer started", {{"consumer", settings_.name}, {"group", settings_.group_id}});
    thread_ = std::thread([this] { Loop(); });
}

void EventConsumer::Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    impl_.reset();
}

void EventConsumer::Loop() {
    Impl& impl = *impl_;
    auto last_maintenance = std::chrono::steady_clock::now() - kMaintenanceInterval;
    while (!stop_) {
        if (maintain_ && std::chrono::steady_clock::now() - last_maintenance >= kMaintenanceInterval) {
            last_maintenance = std::chrono::steady_clock::now();
            try {
                maintain_();
            } catch (const std::exception& e) {
                log::Warn("processed-events cleanup failed",
                          {{"consumer", settings_.name}, {"error_kind", Classify(e).kind}});
            }
        }
        std::unique_ptr<RdKafka::Message> msg(impl.consumer->consume(static_cast<int>(settings_.poll_timeout.count())));
        switch (msg->err()) {
            case RdKafka::ERR_NO_ERROR:
                if (impl.Process(*msg) == Impl::Outcome::kAbandoned) break;  // left for redelivery
                impl.done[{msg->topic_name(), msg->partition()}] = msg->offset() + 1;
                ++impl.uncommitted;
                impl.last_error.clear();
                break;
            case RdKafka::ERR__TIMED_OUT:
            case RdKafka::ERR__PARTITION_EOF:
                break;
            default:
                // E.g. a subscribed topic that does not exist yet; logged once until something else happens.
                if (msg->errstr() != impl.last_error) {
                    impl.last_error = msg->errstr();
                    log::Warn("kafka consume error", {{"consumer", settings_.name},
                                                      {"error", RdKafka::err2str(msg->err())},
                                                      {"detail", msg->errstr()}});
                }
                break;
        }
        impl.MaybeCommit();
        impl.MaybeUpdateLag();
    }
    impl.Commit();
    impl.consumer->close();  // leaves the group (the revoke callback commits nothing new)
    impl.producer->flush(static_cast<int>(settings_.dlq_timeout.count()));
    log::Info("consumer stopped", {{"consumer", settings_.name}});
}

}  // namespace crm::common
