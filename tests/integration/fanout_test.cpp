// Fan-out: one source, two consumers with their own groups, rules files and destination
// databases. Each destination must hold exactly its slice while 8 writers keep moving rows
// across both filters and changing keys, and while each consumer is killed with -9 mid-stream.
// The slices are checked by SQL of this test's own, not only by db_verify, which shares the
// rules code with the consumer and could share its mistakes.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "harness/background_writer.hpp"
#include "harness/binaries.hpp"
#include "harness/eventually.hpp"
#include "harness/pipeline.hpp"
#include "harness/program.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

constexpr int kSigkill = 128 + 9;
constexpr int kWriters = 8;
// Only a bound on the runtime should the consumers never rejoin; the test stops the writers
// itself once both kills are behind it.
constexpr std::int64_t kMaxRounds = 2000;
// A key change adds this, so moved keys never meet the fresh ones (all below it).
constexpr std::int64_t kKeyShift = 1000000;

// The key is bigint: a row can have its key shifted many times.
constexpr const char* kCreateStaff =
    "CREATE TABLE public.staff (id bigint PRIMARY KEY, first_name text, last_name text, "
    "city text, salary int)";

// Every committed change of staff, and every crossing of either filter's boundary, as the
// source itself judges it: a rolled-back round leaves nothing here, so the counts are of
// what the consumers really had to apply. Not captured, so it never reaches a destination.
constexpr const char* kCreateMoves = R"sql(
CREATE TABLE public.moves (kind text NOT NULL, id bigint NOT NULL);
CREATE FUNCTION public.note_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.moves VALUES ('insert', NEW.id);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO public.moves VALUES ('delete', OLD.id);
    ELSE
        INSERT INTO public.moves VALUES ('update', NEW.id);
        IF NEW.id <> OLD.id THEN INSERT INTO public.moves VALUES ('key change', NEW.id); END IF;
        IF (OLD.city = 'Boston') IS NOT TRUE AND (NEW.city = 'Boston') IS TRUE THEN
            INSERT INTO public.moves VALUES ('A in', NEW.id);
        ELSIF (OLD.city = 'Boston') IS TRUE AND (NEW.city = 'Boston') IS NOT TRUE THEN
            INSERT INTO public.moves VALUES ('A out', NEW.id);
        END IF;
        IF (OLD.salary >= 50) IS NOT TRUE AND (NEW.salary >= 50) IS TRUE THEN
            INSERT INTO public.moves VALUES ('B in', NEW.id);
        ELSIF (OLD.salary >= 50) IS TRUE AND (NEW.salary >= 50) IS NOT TRUE THEN
            INSERT INTO public.moves VALUES ('B out', NEW.id);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER note_move AFTER INSERT OR UPDATE OR DELETE ON public.staff
    FOR EACH ROW EXECUTE FUNCTION public.note_move();
)sql";

// One consumer's slice: its rules, and the same slice computed twice by plain SQL, from the
// destination table and from the source. Both selects have the same columns in the same
// order, so their rows as record text ("(7,Ann,LEE,Boston)", NULL left empty, "" quoted)
// must be equal line by line.
struct Slice {
    const char* name;
    const char* rules;
    const char* dest_table;
    const char* dest_select;
    const char* source_select;
    std::vector<std::string> columns;  // the destination table's, guards included
};

const Slice kBoston = {
    "A (Boston staff)",
    R"toml([[table]]
source  = "public.staff"
dest    = "hr.boston_staff"
where   = "city = 'Boston'"
columns = ["id", "first_name", "last_name", "city"]
[table.set]
last_name = "upper(last_name)"
)toml",
    "hr.boston_staff",
    "SELECT id, first_name, last_name, city FROM hr.boston_staff",
    "SELECT id, first_name, upper(last_name), city FROM public.staff WHERE city = 'Boston'",
    {"_cdc_seq", "_cdc_ts", "city", "first_name", "id", "last_name"},
};

const Slice kHighPaid = {
    "B (high paid)",
    R"toml([[table]]
source  = "public.staff"
dest    = "audit.high_paid"
where   = "salary >= 50"
columns = ["id", "salary", "city"]
[table.set]
city = "lower(city)"
)toml",
    "audit.high_paid",
    "SELECT id, salary, city FROM audit.high_paid",
    "SELECT id, salary, lower(city) FROM public.staff WHERE salary >= 50",
    {"_cdc_seq", "_cdc_ts", "city", "id", "salary"},
};

std::vector<std::string> rows_of(const std::string& url, const std::string& select) {
    return query_column(url, "SELECT r::text FROM (" + select + ") r ORDER BY r.id");
}

// One consumer with its own destination, group and rules file.
struct Fanned {
    const Slice& slice;
    std::string dest_url;
    std::string group;
    std::filesystem::path rules;

    std::vector<std::string> actual() const { return rows_of(dest_url, slice.dest_select); }
    std::vector<std::string> expected(const TestEnv& env) const {
        return rows_of(env.source_url(), slice.source_select);
    }
    bool exact(const TestEnv& env) const { return actual() == expected(env); }

    // What env.consumer() passes, with this consumer's destination, group and rules instead.
    Program consumer(TestEnv& env, const Args& extra = {}) const {
        Args args = {"--dest",    dest_url,  "--brokers", env.brokers(), "--topic",
                     env.topic(), "--group", group,       "--rules",     rules.string()};
        args.insert(args.end(), kQuickRejoin.begin(), kQuickRejoin.end());
        args.insert(args.end(), extra.begin(), extra.end());
        return env.start(kConsumer, args);
    }
};

void set_up(TestEnv& env, const Fanned& fanned) {
    const auto setup = env.run(
        kDbSetup, {"--source", env.source_url(), "--dest", fanned.dest_url, "--brokers",
                   env.brokers(), "--topic", env.topic(), "--rules", fanned.rules.string()});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
}

RunResult verify(TestEnv& env, const Fanned& fanned) {
    return env.run(kDbVerify, {"--rules", fanned.rules.string(), "--source", env.source_url(),
                               "--dest", fanned.dest_url});
}

// Cities and salaries drawn so that about every other change of either crosses its filter's
// boundary. 'boston' is out of A's filter yet reads as 'Boston' does through B's lower(city);
// a NULL city or salary matches no filter.
const std::vector<std::string> kCities = {"'Boston'", "'Boston'", "'Austin'",
                                          "'Denver'", "'boston'", "NULL"};
const std::vector<std::string> kLastNames = {"'lee'", "'O''Brien'", "'McDonald'", "'ray'", "NULL"};

// One round of writer w: a fresh row, then changes of up to three random rows, with pauses
// inside the transaction so commit order keeps differing from log order. Rows are taken in
// key order, so writers fighting over a row mostly just wait for each other. Not always: a
// writer whose row got a new key from another writer meanwhile is left holding the lock of
// that row under its new key (PostgreSQL keeps the lock it took to recheck the WHERE), out
// of key order, and now and then that deadlocks. Such a round is rolled back and the writer
// goes on, as an application retrying would; the counts of public.moves are of committed
// rounds only.
BackgroundWriter::Round staff_round(int w) {
    return [w, rng = std::mt19937(std::random_device{}())](pqxx::work& tx, std::int64_t n) mutable {
        if (n >= kMaxRounds) return false;
        auto pick = [&rng](const std::vector<std::string>& from) {
            return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
        };
        auto salary = [&rng] {
            const int s = std::uniform_int_distribution<int>(38, 62)(rng);
            return s == 38 ? std::string("NULL") : std::to_string(s);
        };
        auto pause = [&rng, &tx] {
            tx.exec("SELECT pg_sleep(" +
                    std::to_string(std::uniform_int_distribution<int>(0, 8)(rng) / 1000.0) + ")");
        };
        const std::string fresh = std::to_string(n * kWriters + w + 1);
        tx.exec("INSERT INTO staff VALUES (" + fresh + ", 'w" + std::to_string(w) + "', " +
                pick(kLastNames) + ", " + pick(kCities) + ", " + salary() + ")");
        std::vector<std::int64_t> ids;
        for (const auto& row : tx.exec("SELECT id FROM staff ORDER BY random() LIMIT 3"))
            ids.push_back(row[0].as<std::int64_t>());
        std::sort(ids.begin(), ids.end());
        for (const std::int64_t id : ids) {
            pause();
            const std::string where = " WHERE id = " + std::to_string(id);
            switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
                case 0:
                case 1:
                case 2:
                    tx.exec("UPDATE staff SET city = " + pick(kCities) + where);
                    break;
                case 3:
                case 4:
                    tx.exec("UPDATE staff SET salary = " + salary() + where);
                    break;
                case 5:
                    tx.exec("UPDATE staff SET first_name = 'r" + std::to_string(n) +
                            "', last_name = " + pick(kLastNames) + ", city = " + pick(kCities) +
                            ", salary = " + salary() + where);
                    break;
                case 6:
                    tx.exec("UPDATE staff SET id = id + " + std::to_string(kKeyShift) + where);
                    break;
                case 7:  // a new key and a new place with respect to a filter at once
                    tx.exec("UPDATE staff SET id = id + " + std::to_string(kKeyShift) +
                            ", city = " + pick(kCities) + ", salary = " + salary() + where);
                    break;
                case 8:
                    tx.exec("DELETE FROM staff" + where);
                    break;
                default:
                    tx.exec("UPDATE staff SET last_name = " + pick(kLastNames) + where);
                    break;
            }
        }
        return true;
    };
}

std::int64_t committed(const std::vector<std::unique_ptr<BackgroundWriter>>& writers) {
    std::int64_t sum = 0;
    for (const auto& w : writers) sum += w->committed();
    return sum;
}

std::int64_t moves(const TestEnv& env, const std::string& kind) {
    return std::stoll(query_value(env.source_url(),
                                  "SELECT count(*) FROM public.moves WHERE kind = '" + kind + "'"));
}

// Rows that entered the slice by an update and are in it now (so the destination must hold
// them), or left it and are out now while the source still has them (so it must not).
std::int64_t crossed_and_stayed(const TestEnv& env, const std::string& filter, bool in) {
    const std::string matches = filter == "A" ? "(s.city = 'Boston')" : "(s.salary >= 50)";
    return std::stoll(
        query_value(env.source_url(),
                    "SELECT count(DISTINCT s.id) FROM public.moves m JOIN public.staff s "
                    "USING (id) WHERE m.kind = '" +
                        filter + (in ? " in" : " out") + "' AND " + matches +
                        (in ? " IS TRUE" : " IS NOT TRUE")));
}

void fan_out(std::string& figures) {
    // 8 partitions: the dev broker keeps only about 5 MB of each, and a consumer restarting
    // from its stored offsets needs the messages after them still there.
    TestEnv env(8);
    // Only for a second destination database on the destination cluster and a consumer group
    // of its own, both named so no other test case meets them: creating them here would only
    // repeat what TestEnv does. Its topic stays unused; every program runs through env, so
    // env.logs() shows them all.
    TestEnv second;
    INFO(env.logs());
    const auto started = std::chrono::steady_clock::now();

    exec(env.source_url(), kCreateStaff);
    exec(env.source_url(), kCreateMoves);
    const Fanned a{kBoston, env.dest_url(), env.group(), write_rules(env, "a.toml", kBoston.rules)};
    const Fanned b{kHighPaid, second.dest_url(), second.group(),
                   write_rules(env, "b.toml", kHighPaid.rules)};
    // The first captures staff on the source; the second finds it captured.
    set_up(env, a);
    set_up(env, b);

    // Each destination holds its rule's table with its columns and no other table.
    for (const Fanned* f : {&a, &b}) {
        CAPTURE(f->slice.name);
        const std::string dest_table = f->slice.dest_table;
        const auto dot = dest_table.find('.');
        CHECK(query_column(f->dest_url,
                           "SELECT column_name FROM information_schema.columns WHERE "
                           "table_schema = '" +
                               dest_table.substr(0, dot) + "' AND table_name = '" +
                               dest_table.substr(dot + 1) + "' ORDER BY column_name") ==
              f->slice.columns);
        CHECK(query_column(f->dest_url,
                           "SELECT table_schema || '.' || table_name FROM "
                           "information_schema.tables WHERE table_schema NOT IN ('cdc', "
                           "'cdc_source', 'pg_catalog', 'information_schema') AND "
                           "table_schema NOT LIKE 'pg_temp%' ORDER BY 1") ==
              std::vector<std::string>{dest_table});
    }

    std::optional<Program> producer(env.producer());
    std::optional<Program> consumer_a(a.consumer(env));
    std::optional<Program> consumer_b(b.consumer(env));
    std::vector<std::unique_ptr<BackgroundWriter>> writers;
    for (int w = 0; w < kWriters; ++w)
        writers.push_back(
            std::make_unique<BackgroundWriter>(env.source_url(), staff_round(w), 5ms));
    const auto any_finished = [&] {
        return std::any_of(writers.begin(), writers.end(),
                           [](const auto& w) { return w->finished(); });
    };
    // Progress marks in committed rounds, so each kill lands in the middle of the stream
    // however fast this machine is.
    const auto rounds_beyond = [&](std::int64_t mark) {
        return eventually([&] { return committed(writers) >= mark; }, 60s);
    };
    const auto applying = [&](std::optional<Program>& consumer, const Fanned& f) {
        return eventually(
            [&] {
                return assigned_partitions(*consumer, env.topic()) &&
                       query_value(f.dest_url, std::string("SELECT count(*) > 0 FROM ") +
                                                   f.slice.dest_table) == "t";
            },
            60s);
    };

    REQUIRE_MESSAGE(applying(consumer_a, a), consumer_a->log());
    REQUIRE_MESSAGE(applying(consumer_b, b), consumer_b->log());
    REQUIRE(rounds_beyond(400));
    REQUIRE_FALSE(any_finished());
    REQUIRE(consumer_a->kill() == kSigkill);
    figures += "killed A after " + std::to_string(committed(writers)) + " rounds, ";
    consumer_a.emplace(a.consumer(env));
    REQUIRE_MESSAGE(applying(consumer_a, a), consumer_a->log());

    REQUIRE(rounds_beyond(committed(writers) + 400));
    REQUIRE_FALSE(any_finished());
    REQUIRE(consumer_b->kill() == kSigkill);
    figures += "B after " + std::to_string(committed(writers)) + "; ";
    consumer_b.emplace(b.consumer(env));
    REQUIRE_MESSAGE(applying(consumer_b, b), consumer_b->log());
    // Both restarted consumers apply a live stream for a while before the writers stop.
    REQUIRE(rounds_beyond(committed(writers) + 400));
    REQUIRE_FALSE(any_finished());

    std::int64_t failed = 0;
    std::string last_error;
    for (auto& w : writers) {
        w->stop();
        failed += w->failed();
        if (!w->last_error().empty()) last_error = w->last_error();
    }
    // Rare deadlocks only (see staff_round), not a workload that mostly failed.
    REQUIRE_MESSAGE(failed * 50 < committed(writers), last_error);
    const std::int64_t changes = moves(env, "insert") + moves(env, "update") + moves(env, "delete");
    figures += std::to_string(committed(writers)) + " rounds (" + std::to_string(failed) +
               " rolled back), " + std::to_string(changes) + " changes (" +
               std::to_string(moves(env, "key change")) + " key changes); ";
    REQUIRE(changes >= 3000);

    // The running consumers catch up on their own...
    for (const Fanned* f : {&a, &b}) {
        CAPTURE(f->slice.name);
        REQUIRE_MESSAGE(eventually([&] { return f->exact(env); }, 90s),
                        "destination:\n"
                            << lines(f->actual()) << "expected:\n"
                            << lines(f->expected(env)));
    }
    CHECK_MESSAGE(producer->stop() == 0, producer->log());
    CHECK_MESSAGE(consumer_a->stop() == 0, consumer_a->log());
    CHECK_MESSAGE(consumer_b->stop() == 0, consumer_b->log());
    // ...and draining proves nothing was still on its way that would change them again.
    Program producer_drain = env.producer({"--drain", "--retry-for", "10"});
    REQUIRE_MESSAGE(producer_drain.wait(60s) == 0, producer_drain.log());
    for (const Fanned* f : {&a, &b}) {
        Program drain = f->consumer(env, {"--drain", "--retry-for", "10"});
        REQUIRE_MESSAGE(drain.wait(60s) == 0, drain.log());
    }

    for (const Fanned* f : {&a, &b}) {
        CAPTURE(f->slice.name);
        const auto actual = f->actual();
        const auto expected = f->expected(env);
        CHECK_MESSAGE(actual == expected, "destination:\n"
                                              << lines(actual) << "expected:\n"
                                              << lines(expected));
        CHECK(!expected.empty());
        const auto verified = verify(env, *f);
        CHECK_MESSAGE(verified.exit_code == 0, verified.log);
        CHECK(query_value(f->dest_url, "SELECT count(*) FROM cdc.dead_letters") == "0");
    }

    // The workload really moved rows across both boundaries both ways, and the final slices
    // hold rows that came in that way and lack rows that left that way.
    for (const std::string filter : {"A", "B"}) {
        CAPTURE(filter);
        const std::int64_t in = moves(env, filter + " in");
        const std::int64_t out = moves(env, filter + " out");
        const std::int64_t stayed_in = crossed_and_stayed(env, filter, true);
        const std::int64_t stayed_out = crossed_and_stayed(env, filter, false);
        figures += filter + ": " + std::to_string(in) + " moves in, " + std::to_string(out) +
                   " out, the end holds " + std::to_string(stayed_in) +
                   " rows that came in and lacks " + std::to_string(stayed_out) + " that left; ";
        CHECK(in > 0);
        CHECK(out > 0);
        CHECK(stayed_in > 0);
        CHECK(stayed_out > 0);
    }
    CHECK(moves(env, "key change") > 0);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    figures += "took " + std::to_string(ms / 1000) + " s";
}

}  // namespace

TEST_CASE("two consumers fan one source out into two slices that stay exact through kill -9") {
    std::string figures;
    fan_out(figures);
    MESSAGE(figures);
}
