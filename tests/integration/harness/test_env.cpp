#include "harness/test_env.hpp"

#include <filesystem>
#include <pqxx/pqxx>

#include "harness/binaries.hpp"

namespace pgtrail::it {
namespace {

void create_database(const TempPgCluster& cluster, const std::string& name) {
    pqxx::connection conn(cluster.url("postgres"));
    pqxx::nontransaction tx(conn);  // CREATE DATABASE cannot run inside a transaction
    tx.exec("CREATE DATABASE " + tx.quote_name(name));
}

Args concat(Args args, const Args& extra) {
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

}  // namespace

TestEnv::TestEnv(int partitions) : log_dir_("pgtrail-it-logs") {
    static int next_id = 1;
    const std::string id = std::to_string(next_id++);
    Services& s = services();
    source_db_ = "src_" + id;
    const std::string dest_db = "dst_" + id;
    create_database(s.source, source_db_);
    create_database(s.dest, dest_db);
    source_url_ = s.source.url(source_db_);
    dest_url_ = s.dest.url(dest_db);
    // Appending, not "t" + id: GCC 12 at -O3 flags that with a false -Werror=restrict.
    topic_ = std::string("t").append(id);
    group_ = std::string("g").append(id);
    s.broker.create_topic(topic_, partitions);
    s.broker.create_topic(dlq_topic(), 1);
}

RunResult TestEnv::setup(const Args& extra, std::chrono::milliseconds timeout) {
    return run(kDbSetup,
               concat({"--source", source_url_, "--dest", dest_url_, "--brokers", brokers(),
                       "--topic", topic_},
                      extra),
               timeout);
}

RunResult TestEnv::verify(const Args& extra, std::chrono::milliseconds timeout) {
    return run(kDbVerify, concat({"--source", source_url_, "--dest", dest_url_}, extra), timeout);
}

Program TestEnv::producer(const Args& extra) {
    return start(
        kProducer,
        concat({"--source", source_url_, "--brokers", brokers(), "--topic", topic_}, extra));
}

Program TestEnv::consumer(const Args& extra) {
    return start(kConsumer, concat({"--dest", dest_url_, "--brokers", brokers(), "--topic", topic_,
                                    "--group", group_},
                                   extra));
}

Program TestEnv::start(const char* binary, const Args& args, const Args& extra_env) {
    std::string name = std::filesystem::path(binary).filename().string() + "-" +
                       std::to_string(started_.size() + 1);
    Program program(name, binary, args, log_dir_.path(), extra_env);
    started_.push_back({name, program.command_line()});
    return program;
}

RunResult TestEnv::run(const char* binary, const Args& args, std::chrono::milliseconds timeout,
                       const Args& extra_env) {
    Program program = start(binary, args, extra_env);
    const int code = program.wait(timeout);
    return RunResult{code, program.out(), program.err(), program.log()};
}

std::string TestEnv::logs() const {
    std::string out;
    for (const auto& s : started_) out += program_log(log_dir_.path(), s.name, s.command_line);
    return out;
}

}  // namespace pgtrail::it
