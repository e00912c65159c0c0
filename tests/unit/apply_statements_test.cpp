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
    const ApplyStatements statements = build_apply_statements(table);
    for (const std::string& sql : {statements.upsert, statements.remove}) {
        CAPTURE(sql);
        CHECK(sql.find("\"My Schema\".\"we\"\"ird Name\"") != std::string::npos);
        CHECK(sql.find("\"Id\"") != std::string::npos);
        CHECK(sql.find("$1") != std::string::npos);
        CHECK(sql.find("$2") != std::string::npos);
        CHECK(sql.find("$3") != std::string::npos);
    }
    CHECK(statements.upsert.find("\"va'lue; DROP TABLE x\" = EXCLUDED.\"va'lue; DROP TABLE x\"") !=
          std::string::npos);
    CHECK(statements.upsert.find("ON CONFLICT (\"Id\")") != std::string::npos);
    CHECK(statements.upsert.find("d.\"_cdc_ts\" IS NULL OR") != std::string::npos);
    CHECK(statements.remove.find("d.\"Id\" = x._k1") != std::string::npos);
    // Stays a per-row index probe whatever the statistics say (see apply_statements.cpp).
    CHECK(statements.upsert.find("s.seq) OFFSET 0)") != std::string::npos);
}
