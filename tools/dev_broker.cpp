// pgtrail_dev_broker: a Kafka endpoint for development and tests, so the local stack needs no
// JVM or Docker. It is librdkafka's mock cluster: it speaks the Kafka protocol on ephemeral
// loopback ports, keeps everything in memory (a restart starts empty) and keeps only about 5 MB
// per partition. It does not answer admin CreateTopics, hence the topics are created here.
// With --brokers 3 it is a cluster whose brokers can fail and return on command (stdin), to
// rehearse what a broker loss does to the pipeline.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 3;

constexpr std::string_view kUsage =
    "usage: pgtrail_dev_broker [--topic NAME:PARTITIONS]... [--address-file FILE] [--brokers N]\n"
    "  --topic NAME:PARTITIONS  topic to create (repeatable; default cdc_events:3 and\n"
    "                           cdc_events_dlq:1)\n"
    "  --address-file FILE      write the bootstrap host:port to FILE once the broker is up\n"
    "  --brokers N              number of mock brokers (default 1); topics are replicated\n"
    "                           to min(N, 3) of them\n"
    "Runs until SIGINT or SIGTERM. Data is kept in memory only.\n"
    "Commands on stdin, one per line, each answered 'ok' or 'error: ...' on stdout:\n"
    "  down BROKER          the broker drops its connections and refuses new ones\n"
    "  up BROKER            it accepts connections again\n"
    "  fail BROKER TO       down BROKER, and every partition of the topics created at\n"
    "                       start moves its leadership to TO\n"
    "                       (what a controller does; down alone moves nothing)\n"
    "  leader TOPIC PARTITION BROKER   moves one partition's leadership\n"
    "  coordinator GROUP BROKER        moves a consumer group's coordinator\n"
    "  topic NAME PARTITIONS           creates a topic (what db_setup cannot ask the mock\n"
    "                                  for), e.g. a table's topic for --table-topics\n"
    "Brokers are numbered from 1.\n";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct TopicSpec {
    std::string name;
    int partitions;
};

struct Options {
    std::vector<TopicSpec> topics;
    std::filesystem::path address_file;
    int brokers = 1;
};

int parse_positive(std::string_view text, std::string_view what) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 1) {
        throw UsageError(std::string(what) + " must be a positive integer, got '" +
                         std::string(text) + "'");
    }
    return value;
}

TopicSpec parse_topic(std::string_view spec) {
    auto colon = spec.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        throw UsageError("--topic expects NAME:PARTITIONS, got '" + std::string(spec) + "'");
    }
    std::string name(spec.substr(0, colon));
    // Kafka's own rule; the mock cluster would accept anything and clients would then fail.
    if (name.size() > 249 || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                    "0123456789._-") != std::string::npos) {
        throw UsageError("invalid topic name '" + name + "'");
    }
    return {name, parse_positive(spec.substr(colon + 1), "partition count")};
}

Options parse_args(int argc, char** argv) {
    Options opts;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::cout << kUsage;
            std::exit(0);
        }
        std::string_view value;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw UsageError(std::string(arg) +
                             (arg.starts_with("--") ? " needs a value" : ": unknown argument"));
        }
        if (arg == "--topic") {
            opts.topics.push_back(parse_topic(value));
        } else if (arg == "--address-file") {
            if (value.empty()) throw UsageError("--address-file needs a file name");
            opts.address_file = value;
        } else if (arg == "--brokers") {
            opts.brokers = parse_positive(value, "--brokers");
        } else {
            throw UsageError("unknown argument '" + std::string(arg) + "' (try --help)");
        }
    }
    if (opts.topics.empty()) opts.topics = {{"cdc_events", 3}, {"cdc_events_dlq", 1}};
    return opts;
}

// Readers poll for the file, so they must never see it half written.
void write_atomically(const std::filesystem::path& path, const std::string& content) {
    auto tmp = path;
    tmp += ".tmp." + std::to_string(getpid());
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << content << '\n';
        out.close();
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw std::runtime_error("cannot rename to " + path.string() + ": " + ec.message());
    }
}

// A real Kafka broker sets TCP_NODELAY on every connection; the mock does not. Without it a
// response written while the client has not yet acknowledged the previous one waits for the
// client's delayed ACK (40 ms on Linux): a produce confirmation or a fetch answer came 40 ms
// late about every other time, which was half of pgtrail's end-to-end latency on the dev
// broker. Linux copies TCP_NODELAY from a listening socket to the connections it accepts, so
// the mock's listeners, found among this process's descriptors, get it.
void disable_nagle_on_listeners() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        int fd = -1;
        const std::string name = entry.path().filename().string();
        if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc{}) continue;
        int listening = 0, protocol = 0, one = 1;
        socklen_t len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
            continue;
        len = sizeof protocol;
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0 ||
            protocol != IPPROTO_TCP)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

struct KafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct MockClusterDeleter {
    void operator()(rd_kafka_mock_cluster_t* mc) const { rd_kafka_mock_cluster_destroy(mc); }
};

// One stdin command against the cluster; returns the reply line.
std::string execute(rd_kafka_mock_cluster_t* cluster, const Options& opts,
                    const std::string& line) {
    std::istringstream words(line);
    std::string verb;
    words >> verb;
    const auto answer = [](rd_kafka_resp_err_t err) {
        return err ? std::string("error: ") + rd_kafka_err2str(err) : std::string("ok");
    };
    int broker = 0, to = 0, partition = 0;
    std::string topic;
    if (verb == "down" && words >> broker)
        return answer(rd_kafka_mock_broker_set_down(cluster, broker));
    if (verb == "up" && words >> broker) {
        const rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_up(cluster, broker);
        disable_nagle_on_listeners();  // in case the mock listens anew
        return answer(err);
    }
    if (verb == "leader" && words >> topic >> partition >> broker)
        return answer(
            rd_kafka_mock_partition_set_leader(cluster, topic.c_str(), partition, broker));
    if (verb == "topic" && words >> topic >> partition)
        return answer(rd_kafka_mock_topic_create(cluster, topic.c_str(), partition,
                                                 std::min(opts.brokers, 3)));
    if (verb == "coordinator" && words >> topic >> broker)
        return answer(rd_kafka_mock_coordinator_set(cluster, "group", topic.c_str(), broker));
    if (verb == "fail" && words >> broker >> to) {
        if (auto err = rd_kafka_mock_broker_set_down(cluster, broker)) return answer(err);
        // The mock does not say who leads what, so every partition moves to `to`.
        for (const auto& t : opts.topics)
            for (int p = 0; p < t.partitions; ++p)
                if (auto err = rd_kafka_mock_partition_set_leader(cluster, t.name.c_str(), p, to))
                    return answer(err);
        return "ok";
    }
    return "error: unknown command '" + line + "' (try --help)";
}

// Reads commands until stdin closes or `stop` is set; polls so that it can be stopped.
void serve_commands(rd_kafka_mock_cluster_t* cluster, const Options& opts,
                    const std::atomic<bool>& stop) {
    std::string pending;
    char buf[512];
    while (!stop) {
        pollfd in{STDIN_FILENO, POLLIN, 0};
        if (poll(&in, 1, 200) <= 0) continue;
        const ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
        if (got <= 0) return;  // closed: the broker runs on without commands
        pending.append(buf, static_cast<std::size_t>(got));
        for (auto eol = pending.find('\n'); eol != std::string::npos; eol = pending.find('\n')) {
            const std::string line = pending.substr(0, eol);
            pending.erase(0, eol + 1);
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            std::cout << execute(cluster, opts, line) << std::endl;
        }
    }
}

int run(const Options& opts) {
    // Blocked before librdkafka starts its threads, so they inherit the mask and the signals
    // reach only sigwait below instead of killing the process mid-shutdown.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The handle has no bootstrap.servers on purpose; its notice saying so would only confuse.
    rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr);
    // The mock cluster needs a client handle for its bookkeeping only; it never produces.
    std::unique_ptr<rd_kafka_t, KafkaDeleter> rk(
        rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);  // rd_kafka_new takes ownership only on success
        throw std::runtime_error(std::string("cannot create Kafka handle: ") + errstr);
    }
    // Declared after rk so it is destroyed first: the cluster uses rk until then.
    std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter> cluster(
        rd_kafka_mock_cluster_new(rk.get(), opts.brokers));
    if (!cluster) throw std::runtime_error("cannot start the mock cluster");

    for (const auto& t : opts.topics) {
        // Replicated like a typical real cluster (3) when there are brokers enough for it.
        if (auto err = rd_kafka_mock_topic_create(cluster.get(), t.name.c_str(), t.partitions,
                                                  std::min(opts.brokers, 3))) {
            throw std::runtime_error("cannot create topic " + t.name + ": " +
                                     rd_kafka_err2str(err));
        }
    }

    disable_nagle_on_listeners();
    const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(cluster.get());
    if (!opts.address_file.empty()) write_atomically(opts.address_file, bootstraps);
    std::cout << "dev broker listening on " << bootstraps << std::endl;

    std::atomic<bool> stop{false};
    std::thread commands(serve_commands, cluster.get(), std::cref(opts), std::cref(stop));
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stop = true;
    commands.join();

    // The file's presence tells scripts the broker is up; a stale one would mislead them.
    if (!opts.address_file.empty()) {
        std::error_code ec;
        std::filesystem::remove(opts.address_file, ec);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const UsageError& e) {
        std::cerr << "pgtrail_dev_broker: " << e.what() << '\n';
        return kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "pgtrail_dev_broker: " << e.what() << '\n';
        return kExitFailure;
    }
}
