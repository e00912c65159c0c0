// db_setup --snapshot brings a table that already holds rows into a running pipeline: its
// rows travel straight from source to destination in key-ordered chunks, never through
// cdc.log, while the application keeps writing, and the destination ends equal.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <random>

#include "common/pqxx_compat.hpp"
#include "harness/background_writer.hpp"
#include "harness/binaries.hpp"
#include "harness/crafted_change.hpp"
#include "harness/eventually.hpp"
#include "harness/exact_rows.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

void create_filled(TestEnv& env, const std::string& table, std::int64_t rows) {
    exec(env.source_url(), "CREATE TABLE " + table +
                               " (id bigint PRIMARY KEY, payload text, n numeric);"
                               "INSERT INTO " +
                               table + " SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, " +
                               std::to_string(rows) + ") g");
}

// Chunks a load recorded so far; 0 before db_setup created its bookkeeping.
std::int64_t chunks_done(const TestEnv& env, const std::string& table) {
    try {
        return std::stoll(
            query_value(env.dest_url(),
                        "SELECT coalesce((SELECT chunks FROM cdc.table_loads WHERE table_name = '" +
                            table + "'), 0)"));
    } catch (const std::exception&) {
        return 0;
    }
}

std::string load_value(const TestEnv& env, const std::string& table, const std::string& column) {
    return query_value(env.dest_url(), "SELECT coalesce((SELECT " + column +
                                           "::text FROM cdc.table_loads WHERE table_name = '" +
                                           table + "'), 'none')");
}

// Each writer changes random rows of public.big, one statement per transaction: updates,
// deletes, inserts of new keys and primary-key changes, and keeps the longest time one of
// its statements took, which is how long the load made it wait at most.
class Writers {
public:
    Writers(const TestEnv& env, int count) {
        for (int w = 0; w < count; ++w) {
            auto rng = std::make_shared<std::mt19937_64>(w + 1);
            writers_.push_back(std::make_unique<BackgroundWriter>(
                env.source_url(),
                [this, w, rng](pqxx::work& tx, std::int64_t n) {
                    const std::string row = std::to_string(
                        std::uniform_int_distribution<std::int64_t>(1, 1000000)(*rng));
                    const std::string fresh = std::to_string(10000000 + w * 1000000 + n);
                    const auto started = std::chrono::steady_clock::now();
                    switch (n % 4) {
                        case 0:
                            tx.exec("UPDATE big SET payload = 'w" + std::to_string(w) +
                                    "', n = n + 1 WHERE id = " + row);
                            break;
                        case 1:
                            tx.exec("DELETE FROM big WHERE id = " + row);
                            break;
                        case 2:
                            tx.exec("INSERT INTO big VALUES (" + fresh + ", 'new', " +
                                    std::to_string(n) + ")");
                            break;
                        default:
                            tx.exec("UPDATE big SET id = " + fresh + " WHERE id = " + row);
                    }
                    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - started)
                                          .count();
                    std::int64_t seen = longest_us_.load();
                    while (took > seen && !longest_us_.compare_exchange_weak(seen, took)) {
                    }
                    return true;
                },
                2ms));
        }
    }
    std::int64_t committed() const {
        std::int64_t sum = 0;
        for (const auto& w : writers_) sum += w->committed();
        return sum;
    }
    std::int64_t failed() const {
        std::int64_t sum = 0;
        for (const auto& w : writers_) sum += w->failed();
        return sum;
    }
    std::string last_error() const {
        for (const auto& w : writers_)
            if (!w->last_error().empty()) return w->last_error();
        return "";
    }
    void stop() {
        for (auto& w : writers_) w->stop();
    }
    double longest_ms() const { return static_cast<double>(longest_us_.load()) / 1000.0; }

private:
    std::atomic<std::int64_t> longest_us_{0};
    std::vector<std::unique_ptr<BackgroundWriter>> writers_;
};

}  // namespace

TEST_CASE("a 1M-row table added to a running pipeline loads while 8 writers change it") {
    TestEnv env(6);
    INFO(env.logs());
    const auto demo = env.setup({"--demo"});
    REQUIRE_MESSAGE(demo.exit_code == 0, demo.log);
    Program producer = env.producer();
    Program consumer = env.consumer();
    create_filled(env, "public.big", 1000000);

    Writers writers(env, 8);
    REQUIRE(eventually([&] { return writers.committed() > 200; }));
    const auto load = env.setup({"--table", "public.big", "--snapshot"}, 600s);
    REQUIRE_MESSAGE(load.exit_code == 0, load.log);
    const std::int64_t during_load = writers.committed();
    REQUIRE(eventually([&] { return writers.committed() > during_load + 500; }));
    writers.stop();
    CHECK_MESSAGE(writers.failed() == 0, writers.last_error());
    MESSAGE("longest writer statement during the load: ", writers.longest_ms(), " ms; ",
            writers.committed(), " writes");

    CHECK(load_value(env, "big", "state") == "done");
    CHECK(std::stoll(load_value(env, "big", "rows_copied")) >= 1000000);

    const std::string difference = wait_until_exact(env, "public.big", 180s);
    CHECK_MESSAGE(difference.empty(), difference);
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);
    CHECK(producer.stop() == 0);
    CHECK(consumer.stop() == 0);
}

TEST_CASE("a load killed with SIGKILL resumes after its last completed chunk") {
    TestEnv env;
    INFO(env.logs());
    create_filled(env, "public.resumed", 600000);
    Program first = env.start(kDbSetup, {"--source", env.source_url(), "--dest", env.dest_url(),
                                         "--brokers", env.brokers(), "--topic", env.topic(),
                                         "--table", "public.resumed", "--snapshot"});
    REQUIRE_MESSAGE(eventually([&] { return chunks_done(env, "resumed") >= 2; }), first.log());
    first.kill();
    REQUIRE_MESSAGE(load_value(env, "resumed", "state") == "copying", first.log());
    const std::int64_t copied_before = std::stoll(load_value(env, "resumed", "rows_copied"));
    REQUIRE(copied_before >= 100000);

    const auto status = env.verify({"--status"});
    CHECK_MESSAGE(status.exit_code == 0, status.log);
    CHECK_MESSAGE(
        status.out.find("load public.resumed: in progress, " + std::to_string(copied_before) +
                        " rows copied") != std::string::npos,
        status.log);

    // The killed run's lock died with its connection: the rerun is not refused.
    const auto second = env.setup({"--table", "public.resumed", "--snapshot"});
    REQUIRE_MESSAGE(second.exit_code == 0, second.log);
    CHECK_MESSAGE(second.err.find("resuming after " + std::to_string(copied_before) + " rows") !=
                      std::string::npos,
                  second.log);
    CHECK_MESSAGE(second.err.find(std::to_string(600000 - copied_before) +
                                  " rows copied by this run") != std::string::npos,
                  second.log);
    CHECK(load_value(env, "resumed", "state") == "done");
    CHECK(load_value(env, "resumed", "rows_copied") == "600000");
    CHECK(load_value(env, "resumed", "runs") == "2");
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "0");
    CHECK(exact_difference(env, "public.resumed").empty());
    require_verified(env);

    const auto done = env.verify({"--status"});
    CHECK_MESSAGE(done.out.find("load public.resumed: done, 600000 rows") != std::string::npos,
                  done.log);
    // A finished load copies nothing when run again.
    const auto again = env.setup({"--table", "public.resumed", "--snapshot"});
    CHECK_MESSAGE(again.exit_code == 0, again.log);
    CHECK_MESSAGE(again.err.find("nothing to copy") != std::string::npos, again.log);
}

TEST_CASE("db_setup --snapshot refuses bad input in one line with exit 2") {
    TestEnv env;
    INFO(env.logs());
    // Progress lines may come first; the reason is the last line, all of it.
    const auto one_line_refusal = [](const RunResult& run, const std::string& reason) {
        CHECK_MESSAGE(run.exit_code == 2, run.log);
        std::string last = run.err.substr(0, run.err.find_last_not_of('\n') + 1);
        last = last.substr(last.find_last_of('\n') + 1);
        CHECK_MESSAGE(last.find(reason) != std::string::npos, run.log);
    };
    SUBCASE("a table without a primary key") {
        exec(env.source_url(),
             "CREATE TABLE public.keyless (v int); INSERT INTO keyless VALUES (1)");
        one_line_refusal(env.setup({"--table", "public.keyless", "--snapshot"}),
                         "has no primary key");
    }
    SUBCASE("a table another live db_setup is loading") {
        create_filled(env, "public.busy", 10);
        auto holder = std::make_unique<pqxx::connection>(env.dest_url());
        {
            pqxx::nontransaction tx(*holder);
            tx.exec(
                "SELECT pg_advisory_lock(hashtext('pgtrail initial load'), "
                "hashtext('\"public\".\"busy\"'))");
        }
        one_line_refusal(env.setup({"--table", "public.busy", "--snapshot"}),
                         "is being loaded by another db_setup");
        CHECK(query_value(
                  env.source_url(),
                  "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.busy'::regclass") ==
              "0");
        holder.reset();
        const auto free = env.setup({"--table", "public.busy", "--snapshot"});
        CHECK_MESSAGE(free.exit_code == 0, free.log);
    }
    SUBCASE("a destination table holding rows pgtrail did not write, then --force") {
        create_filled(env, "public.taken", 1000);
        exec(env.dest_url(),
             "CREATE TABLE public.taken (id bigint PRIMARY KEY, payload text, n numeric);"
             "INSERT INTO taken VALUES (5, 'foreign', 0), (5000, 'stray', 1)");
        one_line_refusal(env.setup({"--table", "public.taken", "--snapshot"}), "--force");
        CHECK(query_value(env.dest_url(), "SELECT count(*) FROM taken") == "2");
        const auto forced = env.setup({"--table", "public.taken", "--snapshot", "--force"});
        CHECK_MESSAGE(forced.exit_code == 0, forced.log);
        CHECK(exact_difference(env, "public.taken").empty());
    }
}

TEST_CASE("db_verify --repair copies the differing rows straight to the destination") {
    TestEnv env;
    INFO(env.logs());
    create_filled(env, "public.healed", 2000);
    const auto load = env.setup({"--table", "public.healed", "--snapshot"});
    REQUIRE_MESSAGE(load.exit_code == 0, load.log);
    exec(env.dest_url(),
         "UPDATE healed SET payload = 'corrupt' WHERE id = 3; DELETE FROM healed WHERE id = 4;"
         "INSERT INTO healed VALUES (999999, 'extra', 0)");
    REQUIRE(env.verify().exit_code == 1);

    const auto repair = env.verify({"--repair"});
    CHECK_MESSAGE(repair.exit_code == 1, repair.log);
    CHECK_MESSAGE(repair.out.find("repair: copied 2 current rows to the destination and removed "
                                  "1 rows the source does not hold") != std::string::npos,
                  repair.log);
    // No producer or consumer ran: the repair itself healed the destination.
    CHECK(query_value(env.source_url(), "SELECT count(*) FROM cdc.log") == "0");
    require_verified(env);
}

// db_setup no longer publishes snapshot reads, but topics may still hold those of older
// producers: the consumer applies them like inserts.
TEST_CASE("the consumer still applies snapshot-read (op r) messages of older producers") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.legacy (id int PRIMARY KEY, v text)", "public.legacy");
    produce_messages(env.brokers(), env.topic(),
                     {crafted_message(env.source_db(), {"legacy", 'r', R"({"id":1})", std::nullopt,
                                                        R"({"id":1,"v":"read"})", 1, 1000})});
    Program consumer = env.consumer({"--drain"});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
    CHECK(query_value(env.dest_url(),
                      "SELECT coalesce((SELECT v FROM legacy WHERE id = 1), '-')") == "read");
}
