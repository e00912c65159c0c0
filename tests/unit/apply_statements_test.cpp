#include "consumer/apply_statements.hpp"

#include <doctest/doctest.h>

#include "common/sql_names.hpp"
#include "common/table_rules.hpp"

using namespace pgtrail;

namespace {

ApplyStatements mirrored(const TableInfo& table, const StageLayout& layout,
                         const std::string& stage) {
    const TableRoute route{mirror_mapping(table), table};
    return build_apply_statements({table, table.name, layout, stage}, route);
}

TableRule rule_for(const std::string& toml) { return parse_rules(toml, "r.toml").tables.at(0); }

}  // namespace

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
    const ApplyStatements statements = mirrored(table, layout, "pg_temp.cdc_stage_1");
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
    const ApplyStatements statements = mirrored(table, layout, "pg_temp.s");
    CHECK(statements.upsert.find("json_populate_record(NULL::\"public\".\"t\", s.structured) r") !=
          std::string::npos);
    CHECK(statements.upsert.find("SELECT s.c1, r.\"tags\", s.c3, ") != std::string::npos);
}

TEST_CASE(
    "a ruled table is filled from its source row: filter, columns, transforms, its own name") {
    const TableInfo row{{"public", "employees"},
                        {{"emp_id", "integer", true},
                         {"last_name", "character varying(100)", false},
                         {"city", "text", false},
                         {"salary", "integer", false}},
                        {"emp_id"}};
    const TableRule rule = rule_for(R"toml(
[[table]]
source = "public.employees"
dest = "hr.boston_staff"
where = "city = 'Boston'"
columns = ["emp_id", "city"]
[table.set]
last_name = "upper(last_name)"
)toml");
    TableInfo dest = row;
    dest.name = {"hr", "boston_staff"};
    const TableRoute route{resolve_rule(rule, row), dest};
    const StageLayout layout{
        {StagedAs::scalar, StagedAs::scalar, StagedAs::scalar, StagedAs::scalar}};
    const TableName type{"cdc_source", "public.employees"};
    const ApplyStatements sql = build_apply_statements({row, type, layout, "pg_temp.s"}, route);
    CAPTURE(sql.upsert);
    CAPTURE(sql.remove);
    // Source order, the transformed column in its place; salary is not applied.
    CHECK(sql.upsert.find("INSERT INTO \"hr\".\"boston_staff\" AS d (\"emp_id\", \"last_name\", "
                          "\"city\", ") != std::string::npos);
    CHECK(sql.upsert.find("salary\" =") == std::string::npos);
    // Expressions see only the source row, by its column names.
    CHECK(sql.upsert.find("FROM (SELECT s.c1 AS \"emp_id\", s.c2 AS \"last_name\", s.c3 AS "
                          "\"city\", s.c4 AS \"salary\") src") != std::string::npos);
    CHECK(sql.upsert.find("upper(last_name)") != std::string::npos);
    CHECK(sql.upsert.find("WHERE s.op <> 'd' AND v._keep") != std::string::npos);
    // A row that does not match is deleted, a delete never evaluates the filter.
    CHECK(sql.remove.find("CASE WHEN s.op = 'd' THEN true ELSE NOT v._keep END") !=
          std::string::npos);
    CHECK(sql.remove.find("DELETE FROM \"hr\".\"boston_staff\" d") != std::string::npos);
}

TEST_CASE("rules are refused with the file, the table and the rule") {
    const TableInfo row{{"public", "employees"},
                        {{"emp_id", "integer", true}, {"city", "text", false}},
                        {"emp_id"}};
    const auto refused = [&](const std::string& toml) -> std::string {
        try {
            resolve_rule(rule_for(toml), row);
        } catch (const std::exception& e) {
            return e.what();
        }
        return "";
    };
    const std::string head = "[[table]]\nsource = \"public.employees\"\n";
    CHECK(refused(head + "columns = [\"city\"]\n") ==
          "rules file r.toml, table public.employees: columns must include the primary key "
          "column \"emp_id\"");
    CHECK(refused(head + "columns = [\"emp_id\", \"town\"]\n") ==
          "rules file r.toml, table public.employees: columns: unknown column \"town\"");
    CHECK(refused(head + "[table.set]\nemp_id = \"emp_id + 1\"\n") ==
          "rules file r.toml, table public.employees: set.emp_id: a primary key column cannot "
          "be transformed");
    CHECK(refused(head) == "");
}

TEST_CASE("a rules file is checked before any database is asked") {
    const auto refused = [](const std::string& toml) -> std::string {
        try {
            parse_rules(toml, "r.toml");
        } catch (const std::exception& e) {
            return e.what();
        }
        return "";
    };
    CHECK(refused("[[table]]\nsource = \"public.a\"\n[[table]]\nsource = \"x.b\"\ndest = "
                  "\"public.a\"\n") ==
          "rules file r.toml, table x.b: destination table public.a already has a rule; one "
          "rule per destination table");
    CHECK(refused("[[table]]\nsource = \"employees\"\n") ==
          "rules file r.toml, table entry 1: source \"employees\" is not a schema-qualified "
          "table name (schema.table)");
    CHECK(refused("[[table]]\nsource = \"public.a\"\nmode = \"archive\"\n") ==
          "rules file r.toml, table public.a: unknown mode \"archive\" (mirror, soft-delete or "
          "history)");
    CHECK(refused("[[table]]\nsource = \"public.a\"\nwhere = 1\n") ==
          "rules file r.toml, table public.a: where must be a string");
    CHECK(refused("[[table]]\nsource = \"public.a\"\nfilter = \"x\"\n")
              .find("unknown key \"filter\"") != std::string::npos);
    CHECK(refused("[[table]\n").rfind("rules file r.toml: line 1: not valid TOML", 0) == 0);
    CHECK(refused("") ==
          "rules file r.toml: no [[table]] entries; a consumer with no rules "
          "applies nothing");
    CHECK(parse_qualified_name("Public.\"My \"\"T\"") == TableName{"public", "My \"T"});
    CHECK(!parse_qualified_name("a.b.c"));
    CHECK(!parse_qualified_name("a b.c"));
}
