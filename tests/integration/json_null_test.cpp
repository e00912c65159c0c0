// A json or jsonb column holding JSON null is not SQL NULL (`col IS NULL` tells them apart),
// but row_to_json writes both as null. The log, the envelope, the consumer and db_verify
// must keep them apart all the same.
#include <doctest/doctest.h>

#include "harness/kafka_messages.hpp"
#include "harness/pipeline.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
using namespace std::chrono_literals;

namespace {

// Per row: what kind of value each json column holds, and its text.
constexpr const char* kKinds = R"sql(
SELECT coalesce(string_agg(id || ':' || coalesce(json_typeof(j), 'SQL NULL') || ' ' ||
                           coalesce(j::text, '-') || ' | ' ||
                           coalesce(jsonb_typeof(jb), 'SQL NULL') || ' ' || coalesce(jb::text, '-'),
                           E'\n' ORDER BY id), '')
FROM docs
)sql";

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The envelopes on the topic that contain `part`.
std::vector<std::string> envelopes_with(const TestEnv& env, const std::string& part) {
    std::vector<std::string> found;
    for (const auto& message : read_all_messages(env.brokers(), env.topic()))
        if (message.value && contains(*message.value, part)) found.push_back(*message.value);
    return found;
}

}  // namespace

TEST_CASE("JSON null stays JSON null through log, envelope and consumer; db_verify sees it") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(),
         "CREATE TABLE public.docs (id int PRIMARY KEY, j json, jb jsonb, t text);"
         "INSERT INTO docs VALUES (1, 'null', 'null', 'a'), (2, NULL, NULL, 'b'),"
         "(3, '\"null\"', '\"null\"', 'c'), (4, '{\"a\": null}', '[null]', 'null'),"
         "(5, 'null', NULL, NULL)");
    // The rows already there travel straight to the destination (COPY's text keeps a JSON
    // null apart from SQL NULL).
    const auto setup = env.setup({"--table", "public.docs", "--snapshot"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(),
         "INSERT INTO docs VALUES (6, 'null', 'null', 'new'), (7, NULL, 'null', 'new');"
         "UPDATE docs SET j = 'null', jb = NULL WHERE id = 2;"  // SQL NULL becomes JSON null
         "UPDATE docs SET j = NULL WHERE id = 5;"               // and back
         "UPDATE docs SET id = 16, t = 'moved' WHERE id = 6;"   // a key change keeps it
         "DELETE FROM docs WHERE id = 7");
    drain_or_fail(env);
    const std::string source_kinds = query_value(env.source_url(), kKinds);
    CHECK(query_value(env.dest_url(), kKinds) == source_kinds);
    CHECK(source_kinds ==
          "1:null null | null null\n"
          "2:null null | SQL NULL -\n"
          "3:string \"null\" | string \"null\"\n"
          "4:object {\"a\": null} | array [null]\n"
          "5:SQL NULL - | SQL NULL -\n"
          "16:null null | null null");
    require_verified(env);

    // The envelope lists JSON nulls beside the image, and only when there are some.
    const auto first = envelopes_with(env, R"({"before":null,"after":{"id":6,)");
    REQUIRE(first.size() == 1);
    CHECK_MESSAGE(contains(first[0], R"(,"jsonNulls":{"after":["j","jb"]}})"), first[0]);
    const auto sql_nulls = envelopes_with(env, R"("after":{"id":7,"j":null,)");
    REQUIRE(sql_nulls.size() == 1);
    CHECK_MESSAGE(contains(sql_nulls[0], R"("jsonNulls":{"after":["jb"]})"), sql_nulls[0]);
    const auto update =
        envelopes_with(env, R"("after":{"id":2,"j":null,"jb":null,"t":"b"},"op":"u")");
    REQUIRE(update.size() == 1);
    CHECK_MESSAGE(contains(update[0], R"("jsonNulls":{"after":["j"]})"), update[0]);
    const auto removed = envelopes_with(env, R"("before":{"id":7,)");
    REQUIRE(removed.size() == 1);
    CHECK_MESSAGE(contains(removed[0], R"("jsonNulls":{"before":["jb"]})"), removed[0]);

    // db_verify tells them apart, in its range hashes and its row comparison, both ways.
    exec(env.dest_url(),
         "UPDATE docs SET j = NULL WHERE id = 1; UPDATE docs SET jb = 'null' "
         "WHERE id = 5");
    const auto verify = env.verify();
    CHECK_MESSAGE(verify.exit_code == 1, verify.log);
    CHECK_MESSAGE(contains(verify.out, "2 with different values e.g. {\"id\":1}, {\"id\":5}"),
                  verify.log);
    // --repair copies the source's rows with their JSON nulls, and they heal the rows.
    const auto repair = env.verify({"--repair"});
    CHECK_MESSAGE(repair.exit_code == 1, repair.log);
    require_verified(env);
    CHECK(query_value(env.dest_url(), kKinds) == source_kinds);
}

TEST_CASE("writes succeed when a captured table's json columns change after db_setup") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, "CREATE TABLE public.docs (id int PRIMARY KEY, j json, jb jsonb)",
                  "public.docs");
    const std::string logged =
        "SELECT coalesce(after_json_nulls::text, 'NULL') FROM cdc.log ORDER BY seq DESC LIMIT 1";
    exec(env.source_url(), "INSERT INTO docs VALUES (1, 'null', 'null')");
    CHECK(query_value(env.source_url(), logged) == "{j,jb}");
    // The trigger still names j and jb; it must neither fail the write nor miss a JSON null.
    exec(env.source_url(), "ALTER TABLE docs RENAME COLUMN jb TO \"renamed \"\"jb\"\"\"");
    exec(env.source_url(), "INSERT INTO docs VALUES (2, NULL, 'null')");
    CHECK(query_value(env.source_url(), logged) == "{\"renamed \\\"jb\\\"\"}");
    exec(env.source_url(), "ALTER TABLE docs ALTER COLUMN j TYPE text");
    exec(env.source_url(), "INSERT INTO docs VALUES (3, 'null', NULL)");
    CHECK(query_value(env.source_url(), logged) == "NULL");
    exec(env.source_url(), "ALTER TABLE docs DROP COLUMN j");
    exec(env.source_url(), "UPDATE docs SET \"renamed \"\"jb\"\"\" = 'null' WHERE id = 3");
    CHECK(query_value(env.source_url(), logged) == "{\"renamed \\\"jb\\\"\"}");
    CHECK(query_value(
              env.source_url(),
              "SELECT count(*) FROM cdc.log WHERE op = 'u' AND before_json_nulls IS NULL") == "1");
}
