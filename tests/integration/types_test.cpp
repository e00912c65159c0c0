// Every value must arrive exactly as the source holds it: row JSON passes from PostgreSQL to
// PostgreSQL as text, so extremes, special values and exotic types must survive the trip.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "common/pqxx_compat.hpp"
#include "harness/exact_rows.hpp"
#include "harness/pipeline.hpp"
#include "harness/sql.hpp"
#include "harness/test_env.hpp"

using namespace pgtrail::it;
namespace pq = pgtrail::pq;
using namespace std::chrono_literals;

namespace {

void drain(TestEnv& env) {
    // No outage here: a retry means something is wrong, so fail fast.
    Program producer = env.producer({"--drain", "--retry-for", "10"});
    REQUIRE_MESSAGE(producer.wait(60s) == 0, producer.log());
    Program consumer = env.consumer({"--drain", "-X", "session.timeout.ms=6000"});
    REQUIRE_MESSAGE(consumer.wait(60s) == 0, consumer.log());
}

void require_same(TestEnv& env, const std::string& table) {
    const auto gap = exact_difference(env, table);
    CHECK_MESSAGE(gap.empty(), gap);
}

constexpr const char* kCreateAllTypes = R"sql(
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy', 'it''s "odd"', '😀 ünï');
CREATE TYPE public.reading AS (value float8, taken timestamptz, note text, span interval,
                               days daterange);
CREATE TABLE public.all_types (
    id          integer PRIMARY KEY,
    c_smallint  smallint,
    c_int       integer,
    c_bigint    bigint,
    c_num       numeric(38,10),
    c_num_free  numeric,
    c_real      real,
    c_double    double precision,
    c_bool      boolean,
    c_text      text,
    c_varchar   varchar(20),
    c_char      char(5),
    c_bytea     bytea,
    c_date      date,
    c_time      time,
    c_timetz    timetz,
    c_ts        timestamp,
    c_ts3       timestamp(3),
    c_tstz      timestamptz,
    c_interval  interval,
    c_uuid      uuid,
    c_json      json,
    c_jsonb     jsonb,
    c_int_arr   integer[],
    c_int_2d    integer[],
    c_text_arr  text[],
    c_num_arr   numeric[],
    c_mood      public.mood,
    c_mood_arr  public.mood[],
    c_inet      inet,
    c_cidr      cidr,
    c_money     money,
    c_reading   public.reading
))sql";

// Rows 1 and 2 hold the extremes, 3 is NULL everywhere, 4 to 6 ordinary and special floats.
constexpr const char* kInsertRows = R"sql(
INSERT INTO all_types VALUES
(1, -32768, -2147483648, -9223372036854775808,
 '-9999999999999999999999999999.9999999999', 'NaN',
 'NaN', 'NaN', false,
 E'unicode 😀 漢字 e\u0301 "quoted" \\ back \t tab \n newline',
 '😀漢字éñüßçøåæœ한국어abcde', 'ab',
 '\x00deadbeef0000ff00',
 '4713-01-01 BC', '00:00:00', '00:00:00+15:59',
 '-infinity', '1999-12-31 23:59:59.999', '-infinity',
 '-178000000 years',
 '00000000-0000-0000-0000-000000000000',
 '{"a":1,"a":2,  "big": 1e400,"n":123456789012345678901234567890.000000000000000001 , "s":"\u00e9\ud83d\ude00"}',
 ('{"deep": ' || repeat('[', 200) || '{"k": 1e-40}' || repeat(']', 200) || '}')::jsonb,
 '{1,NULL,3}', '{{1,2},{3,NULL}}', '{NULL,"NULL","a,b","q\"x","",",","\\\\"}',
 '{1e-20,99999999999999999999999999.99999,NaN}',
 'sad', '{sad,NULL,"it''s \"odd\""}', '::1', '10.0.0.0/8',
 '-92233720368547758.08', ROW('NaN', '-infinity', E'q " b \\ ,()', '-178000000 years', 'empty')),
(2, 32767, 2147483647, 9223372036854775807,
 '9999999999999999999999999999.9999999999',
 '123456789012345678901234567890123456789012345678901234567890.123456789',
 'Infinity', '-Infinity', true,
 '', 'plain', 'abcde',
 '\x',
 '5874897-12-31', '24:00:00', '23:59:59.999999-15:59',
 'infinity', '294276-12-31 23:59:59.999', 'infinity',
 '1 year 2 mons 3 days 04:05:06.789',
 'ffffffff-ffff-ffff-ffff-ffffffffffff',
 '[]',
 '{"big": 123456789012345678901234567890123456789012345678901234567890, "neg": -0.000000000000000000001, "e": 1E+2, "deep": {"a": {"b": {"c": [1, [2, [3, [4]]]]}}}}',
 '{}', '{}', '{}', '{}',
 'it''s "odd"', '{}', '192.168.0.1/24', '2001:db8::/32',
 '92233720368547758.07', ROW('Infinity', 'infinity', '', '1 year', '[2024-02-03,infinity)')),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL),
(4, 0, 0, 0, '0.0000000001', '-0.000', '-0', '-0', true,
 'x', 'x', 'x', '\x01', '2024-02-29', '12:34:56.789', '12:34:56.789-03:30',
 '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.9994', '2024-02-29 12:34:56.123456+05:30',
 '-1 day +02:03:04.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 E'{"spaced" :  [ 1 ,\t2 ]\n }', '{"x": null}',
 '{NULL}', '{{NULL}}', '{NULL}', '{NULL}', 'ok', '{NULL}', '255.255.255.255', '0.0.0.0/0',
 '0', ROW(NULL, NULL, NULL, NULL, NULL)),
(5, 1, 1, 1, '1.5', '1e-130', '1.0000001', '1.0000001', false,
 E'\U0001F600', 'ä', 'ä', '\xff', '2000-01-01', '23:59:59.999999', '23:59:59.999999+00',
 '1970-01-01 00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00',
 '0', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12',
 '"just a string"', '"just a string"',
 '{2147483647,-2147483648}', '{{1},{2}}', '{"a\"b"}', '{-0.0}', '😀 ünï', '{happy,ok}',
 'fe80::1', '::/0',
 '1234.5', ROW('1.0000001', '2024-02-29 12:34:56.123456+05:30', 'ä', '-1 days -02:00:00',
               '[2024-02-03,2024-03-04)')),
(6, -1, -1, -1, '-1', '0.1', '3.4028235e38', '2.2250738585072014e-308', true,
 'six', 'six', 'six', '\x00', '0001-01-01', '00:00:00.000001', '00:00:00.000001+01',
 '0001-01-01 00:00:00', '0001-01-01 00:00:00', '0001-01-01 00:00:00+00',
 '-0.000001 seconds', '12345678-1234-1234-1234-123456789abc',
 '1e400', '1e-400', '{}', '{}', '{}', '{}', 'happy', '{}', '1.2.3.4', '1.2.3.0/24',
 '-0.01', ROW('2.2250738585072014e-308', '1970-01-01 00:00:00+00', 'six', '0', '(,)'));
)sql";

constexpr const char* kChangeRows = R"sql(
UPDATE all_types SET c_bytea = '\x0000', c_int_arr = '{NULL}', c_json = '{"a" : 1, "a" : 1}',
       c_mood = 'happy', c_double = '5e-324', c_real = '1.17549435e-38'
 WHERE id = 1;
UPDATE all_types t SET (c_smallint, c_int, c_bigint, c_num, c_num_free, c_real, c_double, c_bool,
       c_text, c_varchar, c_char, c_bytea, c_date, c_time, c_timetz, c_ts, c_ts3, c_tstz,
       c_interval, c_uuid, c_json, c_jsonb, c_int_arr, c_int_2d, c_text_arr, c_num_arr, c_mood,
       c_mood_arr, c_inet, c_cidr, c_money, c_reading) =
       (SELECT c_smallint, c_int, c_bigint, c_num, c_num_free, c_real, c_double, c_bool,
               c_text, c_varchar, c_char, c_bytea, c_date, c_time, c_timetz, c_ts, c_ts3, c_tstz,
               c_interval, '99999999-9999-9999-9999-999999999999'::uuid, c_json, c_jsonb, c_int_arr,
               c_int_2d, c_text_arr, c_num_arr, c_mood, c_mood_arr, c_inet, c_cidr, c_money,
               c_reading
          FROM all_types WHERE id = 1)
 WHERE id = 3;
UPDATE all_types SET (c_smallint, c_int, c_bigint, c_num, c_num_free, c_real, c_double, c_bool,
       c_text, c_varchar, c_char, c_bytea, c_date, c_time, c_timetz, c_ts, c_ts3, c_tstz,
       c_interval, c_uuid, c_json, c_jsonb, c_int_arr, c_int_2d, c_text_arr, c_num_arr, c_mood,
       c_mood_arr, c_inet, c_cidr, c_money, c_reading) =
       (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL)
 WHERE id = 2;
INSERT INTO all_types (id) VALUES (7);
UPDATE all_types SET c_double = c_double * 3, c_num_free = c_num_free * 3, c_money = c_money * 3,
       c_reading.value = (c_reading).value * 3 WHERE id = 5;
DELETE FROM all_types WHERE id = 6;
)sql";

// A locale whose money format differs from C's, if the machine has one; C.utf8 otherwise (then
// that writer changes nothing, and the message says so).
std::string other_monetary_locale(const std::string& url) {
    for (const char* locale : {"de_DE.utf8", "fr_FR.utf8", "en_IN.utf8", "ja_JP.utf8"}) {
        if (error_of(url, std::string("SET lc_monetary = '") + locale + "'").empty()) return locale;
    }
    MESSAGE("no locale but C is installed: the lc_monetary writer uses C.utf8");
    return "C.utf8";
}

// A writer with one setting changed that alters how values print: it copies rows 1 to 6 under
// keys offset + id (the copy moves values, not text, so only the trigger prints them), then
// updates half of its copies.
std::string copy_rows_sql(const std::string& setting, std::size_t offset) {
    const std::string first = std::to_string(offset);
    std::string sql = "SET " + setting + ";";
    sql += "CREATE TEMP TABLE copies ON COMMIT DROP AS SELECT * FROM all_types WHERE id < 100;";
    sql += "UPDATE copies SET id = id + " + first + ";";
    sql += "INSERT INTO all_types SELECT * FROM copies;";
    sql += "UPDATE all_types SET c_double = c_double / 3, c_interval = -c_interval, ";
    sql += "c_reading.taken = (c_reading).taken + interval '1 microsecond' ";
    sql += "WHERE id > " + first + " AND id % 2 = 0;";
    return sql;
}

}  // namespace

TEST_CASE("every column type round-trips byte for byte") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateAllTypes, "public.all_types");
    exec(env.source_url(), kInsertRows);

    // First the inserts on their own, so each row's original values are compared too.
    drain(env);
    require_same(env, "public.all_types");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM all_types") == "6");

    exec(env.source_url(), kChangeRows);
    drain(env);
    require_same(env, "public.all_types");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM all_types") == "6");
    // Spot checks of what row_to_json could hide: a NULL row and the text of numbers.
    CHECK(query_value(env.dest_url(),
                      "SELECT count(*) FROM all_types WHERE id IN (2, 7) AND "
                      "num_nonnulls(c_smallint, c_text, c_json, c_jsonb, c_int_arr, c_mood) = 0") ==
          "2");
    CHECK(query_value(env.dest_url(), "SELECT c_bigint::text FROM all_types WHERE id = 1") ==
          "-9223372036854775808");
    CHECK(query_value(env.dest_url(), "SELECT c_num_free::text FROM all_types WHERE id = 1") ==
          "NaN");
    CHECK(query_value(env.dest_url(),
                      "SELECT encode(c_bytea, 'hex') FROM all_types WHERE id = 3") == "0000");
    require_verified(env);
}

TEST_CASE("composite and text primary keys, including updates that change the key") {
    TestEnv env;
    INFO(env.logs());
    exec(env.source_url(),
         "CREATE TABLE public.pairs (a int, b text, v text, PRIMARY KEY (a, b));"
         "CREATE TABLE public.named (name text PRIMARY KEY, v int)");
    const auto setup = env.setup({"--table", "public.pairs", "--table", "public.named"});
    REQUIRE_MESSAGE(setup.exit_code == 0, setup.log);
    exec(env.source_url(), R"sql(
        INSERT INTO pairs VALUES (1, 'x', 'one'), (1, 'y', 'two'), (2, 'x', 'three'),
                                 (3, E'é"\\', 'four'), (4, '', 'empty b');
        INSERT INTO named VALUES ('alice', 1), ('Bob', 2), ('bob', 3), (E'漢字 "k" \\', 4),
                                 ('', 5), (' ', 6), ('doomed', 7);
    )sql");
    drain(env);
    require_same(env, "public.pairs");
    require_same(env, "public.named");

    exec(env.source_url(), R"sql(
        UPDATE pairs SET v = 'one!' WHERE a = 1 AND b = 'x';
        UPDATE pairs SET b = 'z' WHERE a = 1 AND b = 'y';       -- one part of the key
        UPDATE pairs SET a = 5, v = 'moved' WHERE a = 2;        -- the other part
        UPDATE pairs SET a = 6, b = 'w' WHERE a = 4;            -- both parts
        DELETE FROM pairs WHERE a = 3;
        UPDATE named SET v = 20 WHERE name = 'Bob';
        UPDATE named SET name = 'carol' WHERE name = 'alice';
        UPDATE named SET name = E'漢字 "k" \\ renamed' WHERE v = 4;
        DELETE FROM named WHERE name = 'bob';
        DELETE FROM named WHERE name = 'doomed';
    )sql");
    // A key deleted and created again in one transaction, and a key that moves back.
    exec(env.source_url(),
         "DELETE FROM named WHERE name = ''; INSERT INTO named VALUES ('', 50);"
         "UPDATE pairs SET b = 'y' WHERE a = 1 AND b = 'z'");
    drain(env);
    require_same(env, "public.pairs");
    require_same(env, "public.named");
    CHECK(query_value(env.dest_url(),
                      "SELECT string_agg(a || '/' || b || '=' || v, ' ' ORDER BY a, b) "
                      "FROM pairs") == "1/x=one! 1/y=two 5/x=moved 6/w=empty b");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM named") == "5");
    require_verified(env);
}

TEST_CASE("values do not depend on the writing session's settings") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateAllTypes, "public.all_types");
    exec(env.source_url(), kInsertRows);

    const std::vector<std::string> settings = {
        "extra_float_digits = -15",
        "IntervalStyle = sql_standard",
        "IntervalStyle = iso_8601",
        "TimeZone = 'Pacific/Kiritimati'",
        "bytea_output = escape",
        "DateStyle = German",
        "lc_monetary = '" + other_monetary_locale(env.source_url()) + "'",
    };
    for (std::size_t i = 0; i < settings.size(); ++i)
        exec(env.source_url(), copy_rows_sql(settings[i], 100 * (i + 1)));
    drain(env);
    require_same(env, "public.all_types");
    CHECK(query_value(env.dest_url(), "SELECT count(*) FROM all_types") ==
          std::to_string(6 * (settings.size() + 1)));
    require_verified(env);
}

// The trigger prints values under pgtrail's settings and must hand the writer its own back:
// after captured writes the session and the transaction still read what the writer set.
TEST_CASE("a captured write leaves the writer's settings as they were") {
    TestEnv env;
    INFO(env.logs());
    capture_table(env, kCreateAllTypes, "public.all_types");
    const std::vector<std::pair<std::string, std::string>> writer = {
        {"extra_float_digits", "-15"},     {"DateStyle", "German, DMY"},
        {"IntervalStyle", "sql_standard"}, {"TimeZone", "Pacific/Kiritimati"},
        {"bytea_output", "escape"},        {"lc_monetary", "C.utf8"},
    };
    pqxx::connection conn(env.source_url());
    pqxx::nontransaction session(conn);
    const auto read_settings = [&] {
        std::vector<std::pair<std::string, std::string>> now;
        for (const auto& [name, value] : writer)
            now.emplace_back(name,
                             pq::exec1(session, "SELECT current_setting($1)", name)[0].c_str());
        return now;
    };
    for (const auto& [name, value] : writer)
        pq::exec0(session, "SET " + name + " = '" + value + "'");
    pq::exec0(session, "BEGIN");
    pq::exec0(session, kInsertRows);
    CHECK(read_settings() == writer);
    pq::exec0(session, "COMMIT");
    CHECK(read_settings() == writer);
    pq::exec0(session, "BEGIN; SET LOCAL TimeZone = 'Asia/Kathmandu'");
    pq::exec0(session, "UPDATE all_types SET c_int = 1 WHERE id = 1");
    CHECK(pq::exec1(session, "SELECT current_setting('TimeZone')")[0].as<std::string>() ==
          "Asia/Kathmandu");
    pq::exec0(session, "COMMIT");
    CHECK(read_settings() == writer);
    drain(env);
    require_same(env, "public.all_types");
}
