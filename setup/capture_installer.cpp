#include "setup/capture_installer.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <set>

#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pg_arrays.hpp"
#include "common/pqxx_compat.hpp"
#include "common/retry_policy.hpp"
#include "common/sql_names.hpp"
#include "setup/json_nulls.hpp"

namespace pgtrail::sql {
extern const char* const triggers_capture;
extern const char* const triggers_schema_change;
}  // namespace pgtrail::sql

namespace pgtrail {
namespace {

constexpr const char* kDemoTable = R"sql(
CREATE TABLE IF NOT EXISTS public.employees (
    emp_id     serial PRIMARY KEY,
    first_name varchar(100),
    last_name  varchar(100),
    dob        date,
    city       varchar(100),
    salary     integer
)
)sql";

constexpr const char* kRelid = "SELECT (quote_ident($1) || '.' || quote_ident($2))::regclass::oid";

// A renamed table keeps its oid: drop the stale registry row before upserting by name.
constexpr const char* kForgetRenamed = R"sql(
DELETE FROM cdc.captured_tables
WHERE relid = $1 AND (schema_name, table_name) IS DISTINCT FROM ($2, $3)
)sql";

constexpr const char* kRegister = R"sql(
INSERT INTO cdc.captured_tables (relid, schema_name, table_name, pk_columns)
VALUES ($1, $2, $3, $4::text[])
ON CONFLICT (schema_name, table_name) DO UPDATE
SET relid = EXCLUDED.relid, pk_columns = EXCLUDED.pk_columns
WHERE (cdc.captured_tables.relid, cdc.captured_tables.pk_columns)
      IS DISTINCT FROM (EXCLUDED.relid, EXCLUDED.pk_columns)
)sql";

constexpr const char* kRegistered =
    "SELECT schema_name, table_name FROM cdc.captured_tables ORDER BY schema_name, table_name";

constexpr const char* kCaptureSchemaExists = "SELECT to_regnamespace('cdc') IS NOT NULL";

constexpr const char* kIsSuperuser =
    "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user";

// What the schema-change event trigger compares the next ALTER with: every captured table's
// columns as they are now, when db_setup has just brought the destination up to date.
constexpr const char* kRecordCapturedColumns =
    "SELECT cdc.record_captured_columns(relid) FROM cdc.captured_tables";

// Only a superuser may drop it; when an earlier db_setup could install it, it is there.
constexpr const char* kDropSchemaTrigger = R"sql(
DO $drop$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'pgtrail_schema_change')
    THEN
        DROP EVENT TRIGGER pgtrail_schema_change;
    END IF;
END
$drop$
)sql";

// Every trigger running one of pgtrail's trigger functions, wherever it is, so a table
// dropped from the registry by hand or renamed loses its trigger too.
constexpr const char* kCaptureTriggers = R"sql(
SELECT n.nspname, c.relname, t.tgname
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE p.pronamespace = 'cdc'::regnamespace AND p.proname IN ('capture_row', 'refuse_truncate')
ORDER BY 1, 2, 3
)sql";

// Rows whose transaction the stored position does not cover: not published yet (a NULL
// position covers nothing). Published rows not pruned yet do not count.
constexpr const char* kUnpublished = R"sql(
SELECT count(*) FROM cdc.log
WHERE NOT coalesce(pg_visible_in_snapshot(txid, (SELECT snapshot FROM cdc.producer_position)),
                   false)
)sql";

// Creating a trigger takes SHARE ROW EXCLUSIVE on its table: it waits for the writers in
// flight, and writers arriving meanwhile queue behind it. Waiting at most this long per
// attempt, then backing off and trying again, bounds a writer's wait behind db_setup by it
// plus the rest of the install transaction, however busy the table.
constexpr std::chrono::milliseconds kLockWait{50};
constexpr const char* kLockNotAvailable = "55P03";

// CASCADE: the schema's own objects depend on each other (the registry, the log's
// identity sequence); pgtrail's triggers on user tables are gone by then.
constexpr const char* kDropCaptureSchema = "DROP SCHEMA cdc CASCADE";

// The capture trigger gets the table's json/jsonb column names as arguments, so it can tell
// their JSON nulls from SQL NULLs; a table without such columns gets none and pays nothing.
std::vector<std::string> trigger_statements(pqxx::transaction_base& tx, const TableInfo& table) {
    std::string arguments;
    for (const auto& column : json_columns(table))
        arguments += (arguments.empty() ? "" : ", ") + tx.quote(column);
    const std::string target = table.name.quoted();
    return {
        "CREATE OR REPLACE TRIGGER pgtrail_capture AFTER INSERT OR UPDATE OR DELETE ON " + target +
            " FOR EACH ROW EXECUTE FUNCTION cdc.capture_row(" + arguments + ")",
        "CREATE OR REPLACE TRIGGER pgtrail_truncate BEFORE TRUNCATE ON " + target +
            " FOR EACH STATEMENT EXECUTE FUNCTION cdc.refuse_truncate()",
    };
}

TableInfo checked_table(pqxx::transaction_base& tx, const std::string& requested) {
    const std::optional<TableName> name = resolve_table(tx, requested);
    if (!name) throw UsageError("table " + requested + " does not exist on the source");
    if (name->schema == "cdc")
        throw UsageError("table " + name->display() + " is pgtrail's own; it cannot be captured");
    std::optional<TableInfo> info = load_table(tx, *name);
    if (!info || info->pk_columns.empty())
        throw UsageError("table " + name->display() +
                         " has no primary key; pgtrail keys every change by it, add one first");
    return *info;
}

void capture(pqxx::transaction_base& tx, const TableInfo& table) {
    const std::uint32_t relid =
        pq::exec1(tx, kRelid, table.name.schema, table.name.name)[0].as<std::uint32_t>();
    pq::exec0(tx, kForgetRenamed, relid, table.name.schema, table.name.name);
    pq::exec0(tx, kRegister, relid, table.name.schema, table.name.name,
              text_array_literal(table.pk_columns));
    for (const auto& statement : trigger_statements(tx, table)) pq::exec0(tx, statement);
}

// PostgreSQL lets only superusers create event triggers. Without one, the consumer learns of
// an added column only from the first row carrying it and holds until db_setup adds it
// (README "Schema changes").
void install_schema_change_capture(pqxx::transaction_base& tx) {
    if (!pq::exec1(tx, kIsSuperuser)[0].as<bool>()) {
        log::warn(
            "db_setup's role is not a superuser, so schema changes are not captured: "
            "the consumer holds a table whose source gained a column until db_setup "
            "runs again (README \"Schema changes\")");
        return;
    }
    pq::exec0(tx, sql::triggers_schema_change);
    pq::exec(tx, kRecordCapturedColumns);
}

}  // namespace

std::size_t uninstall_capture(pqxx::connection& source, bool force) {
    pqxx::work tx(source, "uninstall capture");
    if (!pq::exec1(tx, kCaptureSchemaExists)[0].as<bool>()) {
        log::info("capture is not installed on the source (no schema cdc); nothing to remove");
        return 0;
    }
    // Dropping a trigger locks its table against writes and waits for the writers already
    // in it, so once every trigger is gone no further change can reach the log and the
    // count below is final.
    std::set<std::string> tables;
    for (const auto& row : tx.exec(kCaptureTriggers)) {
        const std::string table =
            quote_qualified(row[0].as<std::string>(), row[1].as<std::string>());
        pq::exec0(tx, "DROP TRIGGER " + quote_ident(row[2].as<std::string>()) + " ON " + table);
        tables.insert(table);
    }
    const auto unpublished = pq::exec1(tx, kUnpublished)[0].as<std::int64_t>();
    if (unpublished > 0 && !force)
        throw UsageError(log::cat("cdc.log holds ", unpublished,
                                  " changes the producer has not published; run producer "
                                  "--drain first, or pass --force to discard them"));
    if (unpublished > 0) log::warn("discarding ", unpublished, " unpublished changes (--force)");
    pq::exec0(tx, kDropSchemaTrigger);
    pq::exec0(tx, kDropCaptureSchema);
    tx.commit();
    return tables.size();
}

namespace {

std::vector<TableInfo> install_capture_once(pqxx::connection& source,
                                            const CaptureRequest& request) {
    pqxx::work tx(source, "install capture");
    pq::exec0(tx, "SET LOCAL lock_timeout = " + std::to_string(kLockWait.count()));
    pq::exec0(tx, sql::triggers_capture);
    std::vector<std::string> requested = request.tables;
    if (request.demo) {
        pq::exec0(tx, kDemoTable);
        requested.push_back(kDemoTableName.display());
    }
    std::vector<TableName> done;  // a table requested twice (--demo and a rule) is captured once
    for (const auto& text : requested) {
        const TableInfo table = checked_table(tx, text);
        if (std::find(done.begin(), done.end(), table.name) != done.end()) continue;
        done.push_back(table.name);
        capture(tx, table);
        log::info("capturing ", table.name.display());
    }
    std::vector<TableInfo> captured;
    for (const auto& row : tx.exec(kRegistered)) {
        const TableName name{row[0].as<std::string>(), row[1].as<std::string>()};
        std::optional<TableInfo> info = load_table(tx, name);
        if (!info) {
            log::warn("captured table ", name.display(), " no longer exists on the source");
            continue;
        }
        captured.push_back(std::move(*info));
    }
    if (captured.empty())
        throw UsageError("nothing to capture: pass --table schema.name (repeatable) or --demo");
    install_schema_change_capture(tx);
    tx.commit();
    return captured;
}

}  // namespace

void create_demo_table(pqxx::connection& source) {
    pqxx::work tx(source, "create demo table");
    pq::exec0(tx, kDemoTable);
    tx.commit();
}

std::vector<TableInfo> install_capture(pqxx::connection& source, const CaptureRequest& request) {
    RetryPolicy policy(request.retry_for, "cannot lock the tables to capture against writes");
    for (;;) {
        try {
            auto captured = install_capture_once(source, request);
            policy.after_success("tables locked; capture installed");
            return captured;
        } catch (const pqxx::sql_error& e) {
            if (e.sqlstate() != kLockNotAvailable) throw;
            policy.wait_out("writers held the table longer than the lock wait of " +
                                std::to_string(kLockWait.count()) + " ms",
                            "trying again so that no writer waits behind db_setup");
        }
    }
}

}  // namespace pgtrail
