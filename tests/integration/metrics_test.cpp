// Operators watch the long-running programs through /metrics and their log: these tests read
// both the way a Prometheus scraper and a log collector would.
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/json_members.hpp"
#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/replica.hpp"
#include "harness/services.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail;
using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

// The distinct counts that terminal bar redraws ("\r\033[K[###---] 1200/20000 ...") show, in
// the order drawn; `of_total` is "/20000 ".
std::vector<long> bar_counts(const std::string& out, const std::string& of_total) {
    std::vector<long> counts;
    const std::string redraw = "\r\033[K[";
    for (auto at = out.find(redraw); at != std::string::npos; at = out.find(redraw, at + 1)) {
        const auto end = out.find(of_total, at);
        const auto start = out.rfind(' ', end);
        if (end == std::string::npos || start == std::string::npos || start < at) continue;
        const long count = std::stol(out.substr(start + 1, end - start - 1));
        if (counts.empty() || counts.back() != count) counts.push_back(count);
    }
    return counts;
}

// A loopback socket bound to a port the kernel chose; listening while it lives.
class TakenPort {
public:
    TakenPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(listen(fd_, 1) == 0);
        REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
    }
    ~TakenPort() { close(fd_); }
    TakenPort(const TakenPort&) = delete;
    TakenPort& operator=(const TakenPort&) = delete;
    std::string port() const { return std::to_string(port_); }

private:
    int fd_;
    int port_ = 0;
};

// A port free right now (the same small race every test that picks ports accepts).
std::string free_port() { return TakenPort().port(); }

std::string scrape(const std::string& port) {
    httplib::Client client("127.0.0.1", std::stoi(port));
    const auto response = client.Get("/metrics");
    return response && response->status == 200 ? response->body : "";
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

// The value of one series ("name" or "name{label=\"v\"}") in a scrape.
std::optional<double> sample(const std::string& scraped, const std::string& series) {
    for (const auto& line : lines_of(scraped))
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return std::nullopt;
}

bool has_value(const std::string& scraped, const std::string& series, double expected) {
    const auto value = sample(scraped, series);
    return value && *value == expected;
}

// The first line that is not a JSON object with string members ts, program, level and msg,
// or "" when every line is one.
std::string first_non_json_line(const std::string& log) {
    for (const auto& line : lines_of(log)) {
        try {
            const auto members = split_object(line);
            for (const char* name : {"ts", "program", "level", "msg"}) {
                const JsonMember* member = find_member(members, name);
                if (member == nullptr || member->raw_value.front() != '"') return line;
            }
        } catch (const JsonError&) {
            return line;
        }
    }
    return "";
}

// The decoded msg of every JSON log line.
std::vector<std::string> json_messages(const std::string& log) {
    std::vector<std::string> out;
    for (const auto& line : lines_of(log))
        out.push_back(decode_json_string(find_member(split_object(line), "msg")->raw_value));
    return out;
}

bool any_contains(const std::vector<std::string>& texts, const std::string& part) {
    for (const auto& text : texts)
        if (text.find(part) != std::string::npos) return true;
    return false;
}

void insert_employees(const TestEnv& env, int count) {
    exec(env.source_url(),
         "INSERT INTO employees (first_name, last_name, dob, city, salary) "
         "SELECT 'f' || i, 'l' || i, date '1970-01-01' + i, 'city' || (i % 13), 30000 + i "
         "FROM generate_series(1, " +
             std::to_string(count) + ") i");
}

}  // namespace

TEST_CASE("metrics count every replicated change, lag drops to 0, and every log line is JSON") {
    TestEnv env;
    INFO(env.logs());
    // Twice: the second run finds everything in place (PostgreSQL's notices must not leak
    // into the log as plain text).
    for (int run = 0; run < 2; ++run) {
        const auto setup = env.setup({"--demo", "--log-format", "json"});
        REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
        CHECK_MESSAGE(first_non_json_line(setup.err) == "", setup.log);
    }
    const std::string producer_port = free_port();
    const std::string consumer_port = free_port();
    const Args monitoring = {"--metrics-address", "127.0.0.1", "--log-interval", "1",
                             "--log-format",      "json"};
    Args producer_args = monitoring, consumer_args = monitoring;
    producer_args.insert(producer_args.end(), {"--metrics-port", producer_port});
    consumer_args.insert(consumer_args.end(), {"--metrics-port", consumer_port});
    Program producer = env.producer(producer_args);
    Program consumer = env.consumer(consumer_args);

    constexpr int kInserts = 200, kUpdates = 100, kChanges = kInserts + kUpdates;
    insert_employees(env, kInserts);
    exec(env.source_url(), "UPDATE employees SET salary = salary + 1 WHERE emp_id <= 100");
    const auto gap = wait_until_replicated(env, "public.employees");
    REQUIRE_MESSAGE(gap.empty(), gap);

    std::string scraped;
    CHECK_MESSAGE(eventually([&] {
                      scraped = scrape(producer_port);
                      return has_value(scraped, "pgtrail_producer_changes_read_total", kChanges) &&
                             has_value(scraped, "pgtrail_producer_messages_published_total",
                                       kChanges) &&
                             has_value(scraped, "pgtrail_producer_log_backlog_rows", 0);
                  }),
                  scraped);
    for (const char* type_line : {"# TYPE pgtrail_producer_changes_read_total counter",
                                  "# TYPE pgtrail_producer_messages_published_total counter",
                                  "# TYPE pgtrail_producer_batches_total counter",
                                  "# TYPE pgtrail_producer_batch_size histogram",
                                  "# TYPE pgtrail_producer_publish_seconds histogram",
                                  "# TYPE pgtrail_producer_log_backlog_rows gauge",
                                  "# TYPE pgtrail_producer_position_age_seconds gauge"})
        CHECK_MESSAGE(scraped.find(type_line) != std::string::npos, type_line, "\n", scraped);
    CHECK(sample(scraped, "pgtrail_producer_batch_size_sum") == kChanges);
    CHECK(sample(scraped, "pgtrail_producer_batch_size_count") ==
          sample(scraped, "pgtrail_producer_batches_total"));

    const auto lag_series = [&](int partition) {
        return "pgtrail_consumer_lag_messages{topic=\"" + env.topic() + "\",partition=\"" +
               std::to_string(partition) + "\"}";
    };
    CHECK_MESSAGE(
        eventually([&] {
            scraped = scrape(consumer_port);
            return has_value(scraped, "pgtrail_consumer_messages_consumed_total", kChanges) &&
                   has_value(scraped, "pgtrail_consumer_changes_applied_total", kChanges) &&
                   has_value(scraped, lag_series(0), 0) && has_value(scraped, lag_series(1), 0) &&
                   has_value(scraped, lag_series(2), 0);
        }),
        scraped);
    for (const char* type_line : {"# TYPE pgtrail_consumer_messages_consumed_total counter",
                                  "# TYPE pgtrail_consumer_changes_applied_total counter",
                                  "# TYPE pgtrail_consumer_dead_letters_total counter",
                                  "# TYPE pgtrail_consumer_batches_total counter",
                                  "# TYPE pgtrail_consumer_batch_size histogram",
                                  "# TYPE pgtrail_consumer_apply_seconds histogram",
                                  "# TYPE pgtrail_consumer_lag_messages gauge"})
        CHECK_MESSAGE(scraped.find(type_line) != std::string::npos, type_line, "\n", scraped);
    CHECK(sample(scraped, "pgtrail_consumer_dead_letters_total") == 0);
    CHECK(sample(scraped, "pgtrail_consumer_batch_size_sum") == kChanges);

    REQUIRE_MESSAGE(producer.stop() == 0, producer.log());
    REQUIRE_MESSAGE(consumer.stop() == 0, consumer.log());
    for (const Program* program : {&producer, &consumer}) {
        const std::string bad = first_non_json_line(program->err());
        CHECK_MESSAGE(bad.empty(), bad);
    }
    const auto produced = json_messages(producer.err());
    CHECK_MESSAGE(any_contains(produced, "published 300 changes in"), producer.err());
    CHECK_MESSAGE(any_contains(produced, "stopped; published 300 changes"), producer.err());
    const auto consumed = json_messages(consumer.err());
    CHECK_MESSAGE(any_contains(consumed, "300 in total, 0 dead letters"), consumer.err());
    CHECK_MESSAGE(any_contains(consumed, "stopped; applied 300 messages, 0 dead letters"),
                  consumer.err());
}

TEST_CASE("a metrics port already in use ends the program with exit 2 naming the port") {
    TestEnv env;
    const TakenPort taken;
    const Args metrics = {"--metrics-address", "127.0.0.1", "--metrics-port", taken.port()};
    for (const bool is_producer : {true, false}) {
        CAPTURE(is_producer);
        Program program = is_producer ? env.producer(metrics) : env.consumer(metrics);
        REQUIRE_MESSAGE(program.wait(30s) == 2, program.log());
        const auto lines = lines_of(program.err());
        REQUIRE_FALSE(lines.empty());
        CHECK_MESSAGE(lines.back().find("--metrics-port " + taken.port()) != std::string::npos,
                      program.log());
    }
}

TEST_CASE("with --log-format json even a failed connection's final error is a JSON line") {
    TestEnv env;
    const std::string nowhere = "postgresql://127.0.0.1:" + free_port() + "/none";
    struct Run {
        const char* binary;
        Args args;
    };
    const std::vector<Run> runs = {
        {kProducer, {"--source", nowhere, "--brokers", env.brokers(), "--topic", env.topic()}},
        {kConsumer, {"--dest", nowhere, "--brokers", env.brokers(), "--topic", env.topic()}},
        {kDbVerify, {"--source", nowhere, "--dest", nowhere}},
    };
    for (const auto& run : runs) {
        Args args = run.args;
        args.insert(args.end(), {"--retry-for", "1", "--log-format", "json"});
        const auto result = env.run(run.binary, args, 60s);
        INFO(result.log);
        CHECK(result.exit_code == 3);
        CHECK(first_non_json_line(result.err) == "");
        const auto lines = lines_of(result.err);
        REQUIRE_FALSE(lines.empty());
        const auto last = split_object(lines.back());
        CHECK(decode_json_string(find_member(last, "level")->raw_value) == "error");
        CHECK(decode_json_string(find_member(last, "msg")->raw_value).find("cannot connect") !=
              std::string::npos);
    }
}

TEST_CASE("a drain without a terminal logs its progress toward a total") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    constexpr int kRows = 20000;
    insert_employees(env, kRows);

    Program producer = env.producer({"--drain", "--log-interval", "1", "--batch-size", "1000"});
    REQUIRE_MESSAGE(producer.wait(120s) == 0, producer.log());
    CHECK_MESSAGE(producer.logged("draining 20000 changes"), producer.log());
    CHECK_MESSAGE(producer.logged("draining: published "), producer.log());
    CHECK_MESSAGE(producer.logged(", 20000/20000 (100%), done"), producer.log());

    Program consumer = env.consumer({"--drain", "--log-interval", "1", "--batch-size", "1000"});
    REQUIRE_MESSAGE(consumer.wait(120s) == 0, consumer.log());
    CHECK_MESSAGE(consumer.logged("draining 20000 messages"), consumer.log());
    CHECK_MESSAGE(consumer.logged("draining: applied "), consumer.log());
    CHECK_MESSAGE(consumer.logged(", 20000/20000 (100%), done; lag 0 messages"), consumer.log());
    CHECK_MESSAGE(consumer.logged("stopped; applied 20000 messages, 0 dead letters"),
                  consumer.log());
}

// script(1) gives the producer a pseudo-terminal as stderr, as an operator's shell would.
TEST_CASE("a drain on a terminal draws a self-updating progress bar") {
    TestEnv env;
    INFO(env.logs());
    const auto setup = env.setup({"--demo"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    insert_employees(env, 20000);

    const auto quoted = [](const std::string& text) {
        std::string out = "'";
        for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return out + "'";
    };
    // Sending blocks once 1000 messages wait, and one request of at most 500 is in flight at
    // a time, each answered 100 ms late: the drain's pages go out over at least 4 s, so a bar
    // that redraws every 250 ms as pages are sent must show several counts on the way.
    const std::string command =
        quoted(kProducer) + " --source " + quoted(env.source_url()) + " --brokers " +
        quoted(env.brokers()) + " --topic " + quoted(env.topic()) +
        " --drain --batch-size 1000 -X queue.buffering.max.messages=1000 -X "
        "batch.num.messages=500 -X max.in.flight.requests.per.connection=1";
    const BrokerDelay slow(services().broker, 100ms);
    const auto run = env.run("/usr/bin/script", {"-qec", command, "/dev/null"}, 120s);
    INFO(run.log);
    CHECK(run.exit_code == 0);
    const std::vector<long> counts = bar_counts(run.out, "/20000 ");
    CHECK_MESSAGE(counts.size() >= 3, "bar drawn with " << counts.size() << " distinct counts");
    CHECK(std::is_sorted(counts.begin(), counts.end()));
    CHECK((!counts.empty() && counts.back() == 20000));
    CHECK(run.out.find("stopped; published 20000 changes") != std::string::npos);
}
