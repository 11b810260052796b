#include "crm/common/outbox.hpp"

#include <crm/common/v1/event.pb.h>
#include <google/protobuf/util/time_util.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "crm/common/audit.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/personal_fields.hpp"
#include "current_call.hpp"
#include "subject_keys.hpp"

namespace crm::common {

namespace {
// One round trip: the row, and a NOTIFY (delivered at commit) that wakes the relay without polling.
constexpr Sql kInsertOutbox{"outbox_insert", R"SQL(
WITH ins AS (
  INSERT INTO crm_outbox (event_id, tenant_id, topic, aggregate_type, aggregate_id, aggregate_version, event_type,
                          envelope)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING 1)
SELECT pg_notify('crm_outbox', '') FROM ins
)SQL"};
constexpr Sql kSelectUnsent{"outbox_select_unsent", R"SQL(
SELECT id, event_id::text, tenant_id, topic, aggregate_id, event_type, envelope,
       extract(epoch FROM created_at)::float8
FROM crm_outbox WHERE published_at IS NULL ORDER BY id LIMIT $1
)SQL"};
constexpr Sql kMarkPublished{"outbox_mark_published",
                             "UPDATE crm_outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])"};
// The backlog and the age of its oldest event (0 when empty); both through the partial index on unpublished rows.
constexpr Sql kCountPending{"outbox_count_pending", R"SQL(
SELECT count(*),
       coalesce(extract(epoch FROM clock_timestamp() - (SELECT created_at FROM crm_outbox
                                                        WHERE published_at IS NULL ORDER BY id LIMIT 1)), 0)::float8
FROM crm_outbox WHERE published_at IS NULL
)SQL"};
constexpr Sql kDeleteOld{"outbox_delete_published", R"SQL(
DELETE FROM crm_outbox WHERE id IN (
  SELECT id FROM crm_outbox WHERE published_at < clock_timestamp() - make_interval(secs => $1) LIMIT 5000)
)SQL"};
constexpr Sql kTryLeader{"outbox_try_leader", "SELECT pg_try_advisory_lock(hashtext('crm-outbox-relay'))"};
}  // namespace

Outbox::Outbox(Db& db, std::string source, std::string topic)
    : db_(db), source_(std::move(source)), topic_(std::move(topic)) {}

std::string Outbox::Append(pqxx::transaction_base& tx, const RequestContext& rc, const NewEvent& event) {
    return Write(tx, rc, false, event);
}

std::string Outbox::Append(pqxx::transaction_base& tx, const std::string& tenant_id, const std::string& request_id,
                           const NewEvent& event) {
    // Inside an RPC of this tenant (the handler passed its caller's tenant and request id): the caller's change.
    if (const RequestContext* caller = detail::CurrentCall(); caller != nullptr && caller->tenant_id == tenant_id) {
        if (caller->request_id == request_id) return Write(tx, *caller, false, event);
        RequestContext as_called = *caller;
        as_called.request_id = request_id;
        return Write(tx, as_called, false, event);
    }
    RequestContext self;  // the service itself: an event consumer or a scheduled job
    self.tenant_id = tenant_id;
    self.request_id = request_id;
    self.roles = {std::string(kServiceActorRolePrefix) + source_};
    return Write(tx, self, true, event);
}

std::string Outbox::Write(pqxx::transaction_base& tx, const RequestContext& rc, bool by_service,
                          const NewEvent& event) {
    crm::common::v1::EventEnvelope env;
    env.set_event_id(NewUuid());
    env.set_event_type(event.payload.GetDescriptor()->full_name());
    env.set_source(source_);
    env.set_tenant_id(rc.tenant_id);
    env.set_aggregate_type(event.aggregate_type);
    env.set_aggregate_id(event.aggregate_id);
    env.set_aggregate_version(event.aggregate_version);
    *env.mutable_occurred_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
    env.set_request_id(rc.request_id);
    auto* actor = env.mutable_actor();
    if (by_service) {
        actor->set_service(source_);
    } else {
        actor->set_user_id(rc.user_id);
        actor->set_api_key_id(rc.key_id);
        for (const auto& role : rc.roles) actor->add_roles(role);
    }
    // Personal fields leave the service only sealed under the aggregate's data key (personal_fields.hpp).
    if (privacy::HasPersonalValues(event.payload)) {
        std::unique_ptr<google::protobuf::Message> sealed(event.payload.New());
        sealed->CopyFrom(event.payload);
        SealPersonalFields(db_, tx, rc.tenant_id, event.aggregate_id, *sealed);
        env.mutable_payload()->PackFrom(*sealed);
    } else {
        env.mutable_payload()->PackFrom(event.payload);
    }
    const std::string bytes = env.SerializeAsString();
    db_.Exec(tx, kInsertOutbox, env.event_id(), rc.tenant_id, topic_, event.aggregate_type, event.aggregate_id,
             event.aggregate_version, env.event_type(), pqxx::binarystring(bytes.data(), bytes.size()));
    // The change's audit row, in the same transaction: the RPC (or, for the service's own changes, the event it
    // produced), the resource and the field paths the event names.
    AuditRecord audit;
    audit.rpc = rc.rpc.empty() ? event.payload.GetDescriptor()->name() : rc.rpc;
    audit.resource_type = event.aggregate_type;
    audit.resource_id = event.aggregate_id;
    audit.changed_paths = ChangedPaths(event.payload);
    AppendAudit(tx, rc, audit);
    return env.event_id();
}

// ---------------------------------------------------------------------------------------------------------------
// Relay

namespace {

class Wakeup : public pqxx::notification_receiver {
  public:
    explicit Wakeup(pqxx::connection_base& c) : pqxx::notification_receiver(c, "crm_outbox") {}
    void operator()(const std::string&, int) override {}
};

struct Delivery {
    bool ok = false;
    std::string error;
};

// Delivery reports, keyed by outbox row id (the message's opaque value: no pointer into memory that could be gone
// when a late report arrives). Reports arrive on the relay thread inside producer->poll().
class DeliveryReports : public RdKafka::DeliveryReportCb {
  public:
    void dr_cb(RdKafka::Message& message) override {
        const auto id = static_cast<long long>(reinterpret_cast<intptr_t>(message.msg_opaque()));
        in_flight.erase(id);
        Delivery& d = done[id];
        d.ok = message.err() == RdKafka::ERR_NO_ERROR;
        d.error = d.ok ? std::string() : RdKafka::err2str(message.err());
    }

    std::unordered_set<long long> in_flight;       // produced, no report yet
    std::unordered_map<long long, Delivery> done;  // reported, not yet taken by Publish
};

class KafkaEvents : public RdKafka::EventCb {
  public:
    bool fatal = false;

    void event_cb(RdKafka::Event& event) override {
        if (event.type() == RdKafka::Event::EVENT_ERROR) {
            // Broker-down errors repeat every few seconds; they are warnings: the outbox keeps the events.
            // A fatal error (idempotence can no longer be guaranteed) needs a new producer.
            if (event.fatal()) fatal = true;
            log::Warn("kafka producer", {{"error", RdKafka::err2str(event.err())},
                                         {"detail", event.str()},
                                         {"fatal", event.fatal() ? "true" : "false"}});
        }
    }
};

struct Row {
    long long id;
    std::string event_id, tenant, topic, key, type, envelope;
    double created_epoch;
};

}  // namespace

struct OutboxRelay::Impl {
    RelaySettings settings;
    Metrics& metrics;
    DeliveryReports reports;
    KafkaEvents events;
    std::unique_ptr<RdKafka::Producer> producer;
    std::unique_ptr<pqxx::connection> conn;
    std::unique_ptr<Wakeup> wakeup;
    bool leader = false;
    std::chrono::steady_clock::time_point last_cleanup{};
    prometheus::Gauge& pending;
    prometheus::Gauge& oldest_age;
    prometheus::Counter& published;
    prometheus::Counter& failed;
    prometheus::Histogram& delay;

    Impl(RelaySettings s, Metrics& m)
        : settings(std::move(s)),
          metrics(m),
          pending(prometheus::BuildGauge()
                      .Name("crm_outbox_pending_events")
                      .Help("Events written to the outbox and not yet acknowledged by Kafka.")
                      .Register(m.registry())
                      .Add({{"service", m.service()}})),
          oldest_age(prometheus::BuildGauge()
                         .Name("crm_outbox_oldest_pending_age_seconds")
                         .Help("Age of the oldest event not yet acknowledged by Kafka (0: none); reported by the "
                               "replica whose relay holds the lock.")
                         .Register(m.registry())
                         .Add({{"service", m.service()}})),
          published(prometheus::BuildCounter()
                        .Name("crm_outbox_published_total")
                        .Help("Events published to Kafka by the outbox relay.")
                        .Register(m.registry())
                        .Add({{"service", m.service()}})),
          failed(prometheus::BuildCounter()
                     .Name("crm_outbox_publish_failures_total")
                     .Help("Events whose publication failed and will be retried.")
                     .Register(m.registry())
                     .Add({{"service", m.service()}})),
          delay(prometheus::BuildHistogram()
                    .Name("crm_outbox_publish_delay_seconds")
                    .Help("Time from the outbox write to the Kafka acknowledgement.")
                    .Register(m.registry())
                    .Add({{"service", m.service()}}, Metrics::LatencyBuckets())) {}

    void MakeProducer() {
        std::string err;
        std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
        auto set = [&](const char* k, const std::string& v) {
            if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(std::string(k) + ": " + err);
        };
        set("bootstrap.servers", settings.brokers);
        set("enable.idempotence", "true");
        set("acks", "all");
        set("linger.ms", "2");
        set("message.timeout.ms", std::to_string(settings.message_timeout.count()));
        set("client.id", "crm-" + metrics.service() + "-outbox");
        if (conf->set("dr_cb", &reports, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(err);
        if (conf->set("event_cb", &events, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(err);
        producer.reset(RdKafka::Producer::create(conf.get(), err));
        if (!producer) throw std::runtime_error("cannot create Kafka producer: " + err);
    }

    void Connect() {
        wakeup.reset();
        conn = std::make_unique<pqxx::connection>(settings.db_url);
        wakeup = std::make_unique<Wakeup>(*conn);
        leader = false;
    }

    void Disconnect() {
        wakeup.reset();
        conn.reset();
        leader = false;
    }

    bool TryLead() {
        pqxx::nontransaction tx(*conn);
        leader = tx.exec_params(kTryLeader.text)[0][0].as<bool>();
        return leader;
    }

    std::vector<Row> FetchUnsent() {
        pqxx::work tx(*conn);
        tx.exec("SELECT set_config('crm.relay', 'on', true)");
        std::vector<Row> rows;
        for (const auto& r : tx.exec_params(kSelectUnsent.text, settings.batch_size)) {
            pqxx::binarystring env(r[6]);
            rows.push_back({r[0].as<long long>(), r[1].as<std::string>(), r[2].as<std::string>(),
                            r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(), env.str(),
                            r[7].as<double>()});
        }
        const auto backlog = tx.exec_params(kCountPending.text);
        pending.Set(static_cast<double>(backlog[0][0].as<long long>()));
        oldest_age.Set(std::max(0.0, backlog[0][1].as<double>()));
        tx.commit();
        return rows;
    }

    // Publishes rows and returns the ids that may be marked published: delivered, and no earlier event of the
    // same aggregate failed in this batch (that one is retried first, so per-aggregate order is kept).
    // A row still held by the producer from an earlier batch (its report is late) is not produced again; its late
    // report is used when the row comes round again. Nor is any later row of the same aggregate produced while an
    // earlier one is held or was refused at once: the held one may still fail (message timeout) after the later one
    // was delivered, and producing it again would put the aggregate's events out of order in Kafka.
    std::vector<long long> Publish(const std::vector<Row>& rows) {
        std::set<std::string> held_keys;
        for (const Row& row : rows) {
            if (held_keys.count(row.key)) continue;
            if (reports.in_flight.count(row.id)) {
                held_keys.insert(row.key);
                continue;
            }
            auto earlier = reports.done.find(row.id);
            if (earlier != reports.done.end()) {
                if (earlier->second.ok) continue;  // delivered late after an earlier batch gave up waiting
                reports.done.erase(earlier);
            }
            if (!Produce(row)) held_keys.insert(row.key);
        }
        // Every message gets a report within about message.timeout.ms; wait for this batch's reports.
        const auto until = std::chrono::steady_clock::now() + settings.message_timeout + std::chrono::seconds(5);
        auto pending = [&] {
            return std::any_of(rows.begin(), rows.end(), [&](const Row& r) { return reports.in_flight.count(r.id); });
        };
        while (pending() && std::chrono::steady_clock::now() < until) producer->poll(20);
        producer->poll(0);

        std::set<std::string> blocked;
        std::vector<long long> ok;
        std::string why;
        const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        for (const Row& row : rows) {
            auto report = reports.done.find(row.id);
            const bool delivered = report != reports.done.end() && report->second.ok;
            if (delivered && !blocked.count(row.key)) {
                ok.push_back(row.id);
                published.Increment();
                delay.Observe(std::max(0.0, now - row.created_epoch));
                reports.done.erase(report);
                continue;
            }
            blocked.insert(row.key);
            if (report != reports.done.end() && !report->second.ok) {
                failed.Increment();
                if (why.empty()) why = report->second.error;
            } else if (!delivered && why.empty()) {
                why = "no delivery report yet";
            }
        }
        if (ok.size() < rows.size()) {
            log::Warn("outbox publish incomplete; will retry", {{"published", std::to_string(ok.size())},
                                                                {"unsent", std::to_string(rows.size() - ok.size())},
                                                                {"error", why}});
        }
        return ok;
    }

    // False when librdkafka refused the message at once (its failure is recorded as the row's report).
    bool Produce(const Row& row) {
        void* opaque = reinterpret_cast<void*>(static_cast<intptr_t>(row.id));
        // ce_time: the envelope's occurred_at as RFC 3339 (the row holds the serialized envelope).
        std::string ce_time;
        crm::common::v1::EventEnvelope env;
        if (env.ParseFromString(row.envelope) && env.has_occurred_at()) {
            ce_time = google::protobuf::util::TimeUtil::ToString(env.occurred_at());
        }
        for (;;) {
            RdKafka::Headers* headers = RdKafka::Headers::create();
            headers->add("ce_specversion", "1.0");
            headers->add("ce_id", row.event_id);
            headers->add("ce_type", row.type);
            headers->add("ce_source", "/crm/" + metrics.service());
            headers->add("ce_subject", row.key);
            if (!ce_time.empty()) headers->add("ce_time", ce_time);
            headers->add("crm_tenant", row.tenant);
            headers->add("content-type", "application/x-protobuf");
            RdKafka::ErrorCode err =
                producer->produce(row.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                  const_cast<char*>(row.envelope.data()), row.envelope.size(), row.key.data(),
                                  row.key.size(), 0, headers, opaque);
            if (err == RdKafka::ERR_NO_ERROR) {
                reports.in_flight.insert(row.id);
                return true;
            }
            delete headers;  // ownership passes to librdkafka only on success
            if (err == RdKafka::ERR__QUEUE_FULL) {
                producer->poll(50);
                continue;
            }
            reports.done[row.id] = Delivery{false, RdKafka::err2str(err)};
            return false;
        }
    }

    void MarkPublished(const std::vector<long long>& ids) {
        if (ids.empty()) return;
        std::string array = "{";
        for (size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + std::to_string(ids[i]);
        array += "}";
        pqxx::work tx(*conn);
        tx.exec("SELECT set_config('crm.relay', 'on', true)");
        tx.exec_params(kMarkPublished.text, array);
        tx.commit();
    }

    void Cleanup() {
        auto now = std::chrono::steady_clock::now();
        if (now - last_cleanup < std::chrono::minutes(1)) return;
        last_cleanup = now;
        pqxx::work tx(*conn);
        tx.exec("SELECT set_config('crm.relay', 'on', true)");
        tx.exec_params(kDeleteOld.text, std::chrono::duration_cast<std::chrono::seconds>(settings.retention).count());
        tx.commit();
    }
};

OutboxRelay::OutboxRelay(RelaySettings settings, Metrics& metrics)
    : settings_(std::move(settings)), metrics_(metrics) {}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::Start() {
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
}

void OutboxRelay::Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void OutboxRelay::Loop() {
    Impl impl(settings_, metrics_);
    try {
        impl.MakeProducer();
    } catch (const std::exception& e) {
        log::Error("outbox relay cannot start", {{"error", e.what()}});
        return;
    }
    log::Info("outbox relay started");
    while (!stop_) {
        try {
            if (!impl.conn || !impl.conn->is_open()) impl.Connect();
            if (!impl.leader && !impl.TryLead()) {
                // Another replica publishes; check again later.
                impl.conn->await_notification(1, 0);
                continue;
            }
            auto rows = impl.FetchUnsent();
            if (!rows.empty()) {
                auto ok = impl.Publish(rows);
                impl.MarkPublished(ok);
                if (impl.events.fatal) {
                    // Unsent rows stay in the outbox; a fresh producer (new idempotence epoch) sends them again.
                    log::Error("kafka producer failed fatally; recreating it");
                    impl.producer.reset();
                    impl.reports.in_flight.clear();
                    impl.reports.done.clear();
                    impl.events.fatal = false;
                    impl.MakeProducer();
                }
                if (ok.size() < rows.size()) {
                    std::this_thread::sleep_for(settings_.retry_backoff);
                    continue;
                }
                if (rows.size() == static_cast<size_t>(settings_.batch_size)) continue;  // more waiting
            }
            impl.Cleanup();
            const auto poll = settings_.idle_poll;
            impl.conn->await_notification(poll.count() / 1000, (poll.count() % 1000) * 1000);
        } catch (const std::exception& e) {
            log::Warn("outbox relay error; reconnecting", {{"error", e.what()}});
            impl.Disconnect();
            std::this_thread::sleep_for(settings_.retry_backoff);
        }
    }
    impl.producer->flush(static_cast<int>(settings_.message_timeout.count()));
    impl.Disconnect();
    log::Info("outbox relay stopped");
}

}  // namespace crm::common
