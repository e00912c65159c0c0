// A rules file gives one consumer its slice of the changes: which tables, under which names,
// which rows and columns, with computed values. What it leaves out must never reach the
// destination, what it keeps must match what db_verify compares, and a bad rule must stop
// every program before it does any work.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/binaries.hpp"
#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/program.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

// The README's walkthrough: Boston employees only, last names upper-cased, under HR's name.
constexpr const char* kBostonRules = R"toml([[table]]
source  = "public.employees"
dest    = "hr.boston_staff"
where   = "city = 'Boston'"
columns = ["emp_id", "first_name", "last_name", "city"]
mode    = "mirror"
[table.set]
last_name = "upper(last_name)"
)toml";

// The good rules with the line of one key replaced.
std::string boston_rules_with(const std::string& key, const std::string& line) {
    std::string text = kBostonRules;
    const auto at = text.find("\n" + key + " ");
    REQUIRE(at != std::string::npos);
    const auto end = text.find('\n', at + 1);
    return text.replace(at + 1, end - at - 1, line);
}

Args rules_flag(const std::filesystem::path& rules) { return {"--rules", rules.string()}; }

// emp_id|first_name|last_name|city of each row of `select`, by emp_id, NULL spelled out:
// one form for the destination table and for the source seen through the rule.
std::vector<std::string> staff_rows(const std::string& url, const std::string& select) {
    return query_column(url,
                        "SELECT emp_id || '|' || coalesce(first_name, 'NULL') || '|' || "
                        "coalesce(last_name, 'NULL') || '|' || coalesce(city, 'NULL') FROM (" +
                            select + ") r ORDER BY emp_id");
}

std::vector<std::string> boston_staff(const TestEnv& env) {
    return staff_rows(env.dest_url(),
                      "SELECT emp_id, first_name, last_name, city FROM hr.boston_staff");
}

// What the rule makes of the source, computed by the source itself.
std::vector<std::string> source_through_rule(const TestEnv& env) {
    return staff_rows(env.source_url(),
                      "SELECT emp_id, first_name, upper(last_name) AS last_name, city "
                      "FROM employees WHERE city = 'Boston'");
}

bool absent_on_dest(const TestEnv& env, const std::string& table) {
    return query_value(env.dest_url(), "SELECT to_regclass('" + table + "') IS NULL") == "t";
}

// "partition:next offset" of every partition holding messages, as the topic holds them now.
std::vector<std::string> topic_ends(const TestEnv& env) {
    std::map<std::int32_t, std::int64_t> ends;
    for (const auto& message : read_all_messages(env.brokers(), env.topic()))
        ends[message.partition] = message.offset + 1;
    std::vector<std::string> out;
    for (const auto& [partition, end] : ends)
        out.push_back(std::to_string(partition) + ":" + std::to_string(end));
    return out;
}

// The same form for what the consumer stored; a partition it read nothing of may be stored
// as 0 or not at all.
std::vector<std::string> stored_offsets(const TestEnv& env) {
    return query_column(env.dest_url(),
                        "SELECT partition || ':' || next_offset FROM cdc.consumer_offsets "
                        "WHERE group_id = '" +
                            env.group() + "' AND topic = '" + env.topic() +
                            "' AND next_offset > 0 ORDER BY partition");
}

bool is_projects_change(const KafkaMessage& message) {
    return message.value && message.value->find(R"("table":"projects")") != std::string::npos;
}

// Whether the last message of some partition is a change of public.projects: then only
// storing the offsets of skipped changes brings the stored offsets to the topic's end.
bool a_partition_ends_with_projects(const TestEnv& env) {
    std::map<std::int32_t, bool> last_is_projects;
    for (const auto& message : read_all_messages(env.brokers(), env.topic()))
        last_is_projects[message.partition] = is_projects_change(message);
    for (const auto& [partition, projects] : last_is_projects)
        if (projects) return true;
    return false;
}

std::string last_line(std::string text) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    const auto start = text.rfind('\n');
    return start == std::string::npos ? text : text.substr(start + 1);
}

bool names_any(const RunResult& result, const std::vector<std::string>& names) {
    const std::string text = result.out + result.err;
    for (const auto& name : names)
        if (text.find(name) != std::string::npos) return true;
    return false;
}

}  // namespace

// Each kind of change a row filter turns into an insert or a delete at the destination, with
// the column list, the transform and the destination name applied, and a captured table the
// rules do not name kept out of the destination without holding back the offsets.
TEST_CASE("a consumer applies only its slice: filter, column list, transform, destination name") {
    TestEnv env;
    INFO(env.logs());
    const auto rules = write_rules(env, "boston.toml", kBostonRules);
    exec(env.source_url(), "CREATE TABLE public.projects (id int PRIMARY KEY, name text)");
    const auto setup =
        env.setup({"--demo", "--rules", rules.string(), "--table", "public.projects"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);

    // The destination holds the rule's table with the rule's columns, and nothing else.
    const auto columns = query_column(env.dest_url(),
                                      "SELECT column_name FROM information_schema.columns "
                                      "WHERE table_schema = 'hr' AND table_name = 'boston_staff'");
    CHECK(
        std::set<std::string>(columns.begin(), columns.end()) ==
        std::set<std::string>{"emp_id", "first_name", "last_name", "city", "_cdc_ts", "_cdc_seq"});
    CHECK(columns.size() == 6);
    CHECK(absent_on_dest(env, "public.employees"));
    CHECK(absent_on_dest(env, "public.projects"));

    exec(env.source_url(),
         "INSERT INTO employees (emp_id, first_name, last_name, dob, city, salary) VALUES "
         "(1, 'Ann', 'Lee', '1980-01-01', 'Boston', 100), "
         "(2, 'Ben', 'Kim', '1981-02-02', 'Chicago', 200), "
         "(3, 'Cy', 'Roe', '1982-03-03', NULL, 300), "
         "(4, 'Di', 'Fox', '1983-04-04', 'Boston', 400), "
         "(5, 'Ed', 'Ray', '1984-05-05', 'Denver', 500), "
         "(6, 'Flo', 'Orr', '1985-06-06', 'Boston', 600), "
         "(7, 'Gus', 'Poe', '1986-07-07', 'Boston', 700), "
         "(8, 'Hal', 'Ng', '1987-08-08', 'Boston', 800)");
    drain_or_fail(env, rules_flag(rules));
    CHECK(boston_staff(env) == std::vector<std::string>{"1|Ann|LEE|Boston", "4|Di|FOX|Boston",
                                                        "6|Flo|ORR|Boston", "7|Gus|POE|Boston",
                                                        "8|Hal|NG|Boston"});

    // Each statement commits alone, so a row's steps reach the consumer as separate changes.
    for (const char* change : {
             "UPDATE employees SET city = 'Boston' WHERE emp_id = 2",  // moves in
             "UPDATE employees SET city = 'Austin' WHERE emp_id = 4",  // moves out
             "UPDATE employees SET salary = 501 WHERE emp_id = 5",     // never matches
             "UPDATE employees SET salary = 301 WHERE emp_id = 3",     // NULL does not match
             "UPDATE employees SET last_name = 'Orrington' WHERE emp_id = 6",
             "DELETE FROM employees WHERE emp_id = 7",
             "UPDATE employees SET emp_id = 1000 WHERE emp_id = 8",  // a new key
             // Out, changed while out, back in: the change made while out must not be lost.
             "UPDATE employees SET city = 'Austin' WHERE emp_id = 1",
             "UPDATE employees SET first_name = 'Anna' WHERE emp_id = 1",
             "UPDATE employees SET city = 'Boston' WHERE emp_id = 1",
             "INSERT INTO employees (emp_id, first_name, last_name, city, salary) "
             "VALUES (9, 'Ida', 'Wu', 'Boston', 900)",
             // Last, so that some partition ends with changes the consumer skips.
             "INSERT INTO projects SELECT g, 'project ' || g FROM generate_series(1, 12) g",
             "UPDATE projects SET name = 'renamed' WHERE id % 3 = 0",
             "DELETE FROM projects WHERE id = 5",
         })
        exec(env.source_url(), change);
    drain_or_fail(env, rules_flag(rules));

    const std::vector<std::string> expected = {"1|Anna|LEE|Boston", "2|Ben|KIM|Boston",
                                               "6|Flo|ORRINGTON|Boston", "9|Ida|WU|Boston",
                                               "1000|Hal|NG|Boston"};
    CHECK(source_through_rule(env) == expected);
    CHECK(boston_staff(env) == expected);
    CHECK(absent_on_dest(env, "public.employees"));
    CHECK(absent_on_dest(env, "public.projects"));
    // Skipping a table is not a failure to apply it.
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM cdc.dead_letters") == "0");

    const auto messages = read_all_messages(env.brokers(), env.topic());
    REQUIRE(std::any_of(messages.begin(), messages.end(), is_projects_change));
    CHECK(a_partition_ends_with_projects(env));
    CHECK(stored_offsets(env) == topic_ends(env));

    const auto verify = env.verify(rules_flag(rules));
    CHECK_MESSAGE(verify.exit_code == 0, verify.log);

    struct Tamper {
        std::string what;
        std::string change;
        std::string undo;
    };
    const std::vector<Tamper> tampers = {
        {"a changed value", "UPDATE hr.boston_staff SET city = 'Bostonx' WHERE emp_id = 2",
         "UPDATE hr.boston_staff SET city = 'Boston' WHERE emp_id = 2"},
        {"a value without its transform",
         "UPDATE hr.boston_staff SET last_name = 'Kim' WHERE emp_id = 2",
         "UPDATE hr.boston_staff SET last_name = 'KIM' WHERE emp_id = 2"},
        // Copies a row's guard columns: whatever constraints they carry, they hold.
        {"a row the filter excludes",
         "INSERT INTO hr.boston_staff (emp_id, first_name, last_name, city, _cdc_ts, _cdc_seq) "
         "SELECT 5, 'Ed', 'RAY', 'Denver', _cdc_ts, _cdc_seq FROM hr.boston_staff "
         "WHERE emp_id = 2",
         "DELETE FROM hr.boston_staff WHERE emp_id = 5"},
        {"a missing row", "DELETE FROM hr.boston_staff WHERE emp_id = 1000", ""},
    };
    for (const auto& tamper : tampers) {
        CAPTURE(tamper.what);
        exec(env.dest_url(), tamper.change);
        const auto differs = env.verify(rules_flag(rules));
        CHECK_MESSAGE(differs.exit_code == 1, differs.log);
        CHECK_MESSAGE(names_any(differs, {"boston_staff", "employees"}), differs.log);
        if (!tamper.undo.empty()) exec(env.dest_url(), tamper.undo);
    }
}

// A transform is SQL over data the consumer does not control: one row it cannot compute must
// cost that change alone, not the batch around it nor the consumer.
TEST_CASE("a transform that fails for one row dead-letters that change only") {
    TestEnv env;
    INFO(env.logs());
    const auto rules = write_rules(env, "ratio.toml", R"toml([[table]]
source = "public.employees"
[table.set]
ratio = "100 / (salary - 13)"
)toml");
    const auto setup = env.setup({"--demo", "--rules", rules.string()});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);

    exec(env.source_url(),
         "INSERT INTO employees (emp_id, first_name, last_name, city, salary) VALUES "
         "(1, 'Ann', 'Lee', 'Oslo', 63), (2, 'Ben', 'Kim', 'Oslo', 13), "
         "(3, 'Cy', 'Roe', 'Oslo', 33)");
    exec(env.source_url(), "UPDATE employees SET salary = 38 WHERE emp_id = 1");
    drain_or_fail(env, rules_flag(rules));

    CHECK(query_column(env.dest_url(),
                       "SELECT emp_id || ':' || coalesce(ratio::text, 'NULL') "
                       "FROM public.employees ORDER BY emp_id") ==
          std::vector<std::string>{"1:4", "3:5"});
    const auto letters =
        query_column(env.dest_url(),
                     "SELECT reason || ' | ' || coalesce(convert_from(value, 'UTF8'), 'NULL') "
                     "FROM cdc.dead_letters");
    REQUIRE_MESSAGE(letters.size() == 1, lines(letters));
    CHECK(letters[0].find("employees") != std::string::npos);
    CHECK(letters[0].find("division by zero") != std::string::npos);
    CHECK(letters[0].find(R"("emp_id":2)") != std::string::npos);
}

// A rule that cannot work must be found before a program does anything with it, and the
// operator must learn from one line which file, which table and which rule.
TEST_CASE("bad rules are refused at start with exit 2 and a one-line reason") {
    struct BadRules {
        std::string text;
        std::vector<std::string> mentions;  // besides the file's name
    };
    // Each bad file is the good one with one rule broken: the consumer and db_verify check
    // rules against the destination db_setup prepared for the good file, and any other
    // difference from it would be refused first, for another reason.
    BadRules bad;
    SUBCASE("a where that does not parse") {
        bad = {boston_rules_with("where", "where = \"city = = 'Boston'\""),
               {"public.employees", "where"}};
    }
    SUBCASE("a second statement after the where") {
        bad = {boston_rules_with("where", "where = \"true; DROP TABLE hr.boston_staff\""),
               {"public.employees", "where"}};
    }
    SUBCASE("an unknown column in where") {
        bad = {boston_rules_with("where", "where = \"town = 'Boston'\""),
               {"public.employees", "where", "town"}};
    }
    SUBCASE("an unknown column in columns") {
        bad = {boston_rules_with(
                   "columns",
                   R"(columns = ["emp_id", "first_name", "last_name", "city", "shoe_size"])"),
               {"public.employees", "columns", "shoe_size"}};
    }
    SUBCASE("a column list without the primary key") {
        bad = {boston_rules_with("columns", R"(columns = ["first_name", "last_name", "city"])"),
               {"public.employees", "columns", "primary key"}};
    }
    SUBCASE("two rules for one destination table") {
        bad = {std::string(kBostonRules) + kBostonRules, {"public.employees", "hr.boston_staff"}};
    }
    SUBCASE("an unknown mode") {
        bad = {boston_rules_with("mode", R"(mode = "mirrored")"),
               {"public.employees", "mode", "mirrored"}};
    }
    SUBCASE("a file that is not TOML") { bad = {"[[table]\nsource = \n", {}}; }
    CAPTURE(bad.text);

    TestEnv env;
    INFO(env.logs());
    const auto good = write_rules(env, "good-rules.toml", kBostonRules);
    const auto setup = env.setup({"--demo", "--rules", good.string()});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    const auto path = write_rules(env, "bad-rules.toml", bad.text);

    std::vector<std::string> mentions = bad.mentions;
    mentions.push_back(path.filename().string());
    // Progress lines may come first; the reason is the last line, and all of it: a reason
    // spread over lines (PostgreSQL's LINE and caret) leaves the file's name out of the last.
    const auto check_refusal = [&](const std::string& program, int exit_code,
                                   const std::string& err, const std::string& log) {
        CAPTURE(program);
        CHECK_MESSAGE(exit_code == 2, log);
        const std::string reason = last_line(err);
        for (const auto& word : mentions) {
            CAPTURE(word);
            CHECK_MESSAGE(reason.find(word) != std::string::npos, log);
        }
    };

    const auto refused_setup = env.setup(rules_flag(path));
    check_refusal("db_setup", refused_setup.exit_code, refused_setup.err, refused_setup.log);

    Program consumer = env.consumer({"--rules", path.string(), "--retry-for", "10"});
    const int consumer_exit = consumer.wait(60s);
    check_refusal("consumer", consumer_exit, consumer.err(), consumer.log());

    const auto refused_verify = env.verify(rules_flag(path));
    check_refusal("db_verify", refused_verify.exit_code, refused_verify.err, refused_verify.log);
}
