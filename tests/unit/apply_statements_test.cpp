#include "consumer/apply_statements.hpp"

#include <doctest/doctest.h>

#include "common/sql_names.hpp"

using namespace pgtrail;

TEST_CASE("identifiers are quoted, embedded quotes doubled") {
    CHECK(quote_ident("employees") == "\"employees\"");
    CHECK(quote_ident("we\"ird Name") == "\"we\"\"ird Name\"");
    CHECK(quote_qualified("Sales Dept", "Order\"s") == "\"Sales Dept\".\"Order\"\"s\"");
}

TEST_CASE("apply statements quote hostile identifiers and bind every value") {
    const TableInfo table{{"My Schema", "we\"ird Name"},
                          {{"Id", "integer", true}, {"va'lue; DROP TABLE x", "text", false}},
                          {"Id"}};
    const StageLayout layout{{StagedAs::scalar, StagedAs::scalar}};
    const ApplyStatements statements = build_apply_statements(table, layout, "pg_temp.cdc_stage_1");
    for (const std::string& sql : {statements.upsert, statements.remove}) {
        CAPTURE(sql);
        CHECK(sql.find("\"My Schema\".\"we\"\"ird Name\"") != std::string::npos);
        CHECK(sql.find("\"Id\"") != std::string::npos);
        CHECK(sql.find("$1") != std::string::npos);
        CHECK(sql.find("$2") != std::string::npos);
        CHECK(sql.find("$3") == std::string::npos);
        CHECK(sql.find("FROM pg_temp.cdc_stage_1 s") != std::string::npos);
        CHECK(sql.find("json_populate_record") == std::string::npos);
    }
    CHECK(statements.upsert.find("\"va'lue; DROP TABLE x\" = EXCLUDED.\"va'lue; DROP TABLE x\"") !=
          std::string::npos);
    CHECK(statements.upsert.find("ON CONFLICT (\"Id\")") != std::string::npos);
    CHECK(statements.upsert.find("d.\"_cdc_ts\" IS NULL OR") != std::string::npos);
    CHECK(statements.remove.find("d.\"Id\" = x._k1") != std::string::npos);
    // Stays a per-row index probe whatever the statistics say (see apply_statements.cpp).
    CHECK(statements.upsert.find("s.seq) OFFSET 0)") != std::string::npos);
    CHECK(statements.upsert.find("SELECT s.c1, s.c2, ") != std::string::npos);
}

TEST_CASE("structured columns are converted from the row's JSON object, the rest are typed") {
    const TableInfo table{
        {"public", "t"},
        {{"id", "integer", true}, {"tags", "text[]", false}, {"doc", "jsonb", false}},
        {"id"}};
    const StageLayout layout{{StagedAs::scalar, StagedAs::structured, StagedAs::json}};
    CHECK(layout.any_structured());
    const std::string create = create_stage_table_sql(table, layout, "pg_temp.s");
    CAPTURE(create);
    CHECK(create.find("c1 integer") != std::string::npos);
    CHECK(create.find("c2 ") == std::string::npos);
    CHECK(create.find("c3 jsonb") != std::string::npos);
    CHECK(create.find("structured json") != std::string::npos);
    const ApplyStatements statements = build_apply_statements(table, layout, "pg_temp.s");
    CHECK(statements.upsert.find("json_populate_record(NULL::\"public\".\"t\", s.structured) r") !=
          std::string::npos);
    CHECK(statements.upsert.find("SELECT s.c1, r.\"tags\", s.c3, ") != std::string::npos);
}
