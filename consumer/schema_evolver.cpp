#include "consumer/schema_evolver.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/log.hpp"
#include "common/pqxx_compat.hpp"
#include "common/retry_policy.hpp"
#include "common/sql_names.hpp"
#include "consumer/envelope_decoder.hpp"

namespace pgtrail {
namespace {

constexpr const char* kEvolvedColumnsExist =
    "SELECT to_regclass('cdc.evolved_columns') IS NOT NULL";

constexpr const char* kAbsentValues = R"sql(
SELECT column_name, absent::text FROM cdc.evolved_columns
WHERE schema_name = $1 AND table_name = $2 AND NOT dropped AND absent IS NOT NULL
)sql";

// Returns a row only for the first copy of a change (and for a change newer than the one
// recorded), so each change is acted on and reported once.
constexpr const char* kRecordChange = R"sql(
INSERT INTO cdc.evolved_columns (schema_name, table_name, column_name, absent, dropped, seq)
VALUES ($1, $2, $3, $4::json, $5, $6)
ON CONFLICT (schema_name, table_name, column_name) DO UPDATE
SET absent = EXCLUDED.absent, dropped = EXCLUDED.dropped, seq = EXCLUDED.seq
WHERE cdc.evolved_columns.seq < EXCLUDED.seq
RETURNING 1
)sql";

// PostgreSQL parses the whole text as one type name (and nothing else) or refuses it, so a
// type that passes can be written into DDL as is.
constexpr const char* kKnownType = "SELECT to_regtype($1) IS NOT NULL";

void require_evolved_columns(pqxx::transaction_base& tx) {
    if (!pq::exec1(tx, kEvolvedColumnsExist)[0].as<bool>())
        throw UsageError(
            "the destination has no cdc.evolved_columns, which --schema-evolution add-columns "
            "needs: run db_setup again to bring the destination's bookkeeping up to date");
}

const Column* find_column(const TableInfo& table, const std::string& name) {
    const auto found = std::find_if(table.columns.begin(), table.columns.end(),
                                    [&](const Column& c) { return c.name == name; });
    return found == table.columns.end() ? nullptr : &*found;
}

bool first_copy(pqxx::transaction_base& tx, const SchemaChange& change, const ColumnChange& column,
                bool dropped) {
    return !pq::exec(tx, kRecordChange, change.table.schema, change.table.name, column.column,
                     dropped ? std::nullopt : column.missing_json, dropped, change.seq)
                .empty();
}

bool known_type(pqxx::work& tx, const std::string& type) {
    try {
        pqxx::subtransaction probe(tx, "type check");
        const bool known = pq::exec1(probe, kKnownType, type)[0].as<bool>();
        probe.commit();
        return known;
    } catch (const pqxx::sql_error&) {
        return false;  // not even a type name
    }
}

class TableEvolution {
public:
    TableEvolution(pqxx::work& tx, const SchemaChange& change, TableInfo table)
        : tx_(tx), change_(change), table_(std::move(table)), target_(table_.name.quoted()) {}

    void apply(const ColumnChange& column) {
        switch (column.action) {
            case ColumnChange::Action::add:
                return add(column);
            case ColumnChange::Action::drop:
                return drop(column);
            case ColumnChange::Action::add_rewritten:
                return add_rewritten(column);
            case ColumnChange::Action::rename:
                return rename(column);
            case ColumnChange::Action::retype:
                return retype(column);
        }
    }

private:
    [[noreturn]] void hold(const std::string& what, const std::string& resolve) const {
        throw SchemaDrift(table_.name,
                          "table " + table_.name.display() + ": " + what + "; " + resolve);
    }

    std::string alter_column(const std::string& column, const std::string& action) const {
        return "ALTER TABLE " + target_ + " ALTER COLUMN " + quote_ident(column) + " " + action;
    }

    void add(const ColumnChange& column) {
        if (!first_copy(tx_, change_, column, false)) return;
        const std::string name = quote_ident(column.column);
        if (const Column* have = find_column(table_, column.column)) {
            if (have->type == column.type) return;
            hold("the source added column " + name + " as " + column.type +
                     " but the destination's is " + have->type,
                 "change it on the destination (" + alter_column(column.column, "TYPE ") +
                     column.type + ")");
        }
        if (!known_type(tx_, column.type))
            hold("the source added column " + name + " of type " + column.type +
                     ", which the destination does not have",
                 "create the type on the destination (db_setup --table " + table_.name.display() +
                     ")");
        // The source's existing rows read the default as it was evaluated once at the ALTER
        // (attmissingval); the same literal gives the destination's existing rows the same.
        // It stays the column's default: another consumer of the group that has not reached
        // its copy of this change yet applies its rows from before the ALTER without the
        // column, and a row it inserts must read the literal too, as on the source.
        std::string sql =
            "ALTER TABLE " + target_ + " ADD COLUMN IF NOT EXISTS " + name + " " + column.type;
        if (column.missing_text) {
            sql += " DEFAULT " + tx_.quote(*column.missing_text) + "::" + column.type;
            if (column.not_null) sql += " NOT NULL";
        }
        pq::exec0(tx_, sql);
        log::info("destination ", table_.name.display(), ": added column ", column.column, " ",
                  column.type, column.missing_text ? ", existing rows " + *column.missing_text : "",
                  " (source schema change at seq ", change_.seq, ")");
    }

    void drop(const ColumnChange& column) {
        if (!first_copy(tx_, change_, column, true)) return;
        if (find_column(table_, column.column) == nullptr) return;
        const bool in_key = std::find(table_.pk_columns.begin(), table_.pk_columns.end(),
                                      column.column) != table_.pk_columns.end();
        if (!in_key) pq::exec0(tx_, alter_column(column.column, "DROP NOT NULL"));
        pq::exec0(tx_, alter_column(column.column, "DROP DEFAULT"));
        log::warn("table ", table_.name.display(), ": the source dropped column ", column.column,
                  "; the destination keeps it, NULL in the rows changed from now on (source "
                  "schema change at seq ",
                  change_.seq, ")");
    }

    void add_rewritten(const ColumnChange& column) {
        const Column* have = find_column(table_, column.column);
        if (have != nullptr && have->type == column.type) return;
        hold("column " + quote_ident(column.column) +
                 " was added on the source with the volatile default " + column.default_expression +
                 ", which rewrote every source row without replicating them",
             "run db_setup --table " + table_.name.display() +
                 " to add it, then db_verify --repair --table " + table_.name.display() +
                 " to copy its values");
    }

    void rename(const ColumnChange& column) {
        if (find_column(table_, column.to) != nullptr) return;
        hold("the source renamed column " + quote_ident(column.column) + " to " +
                 quote_ident(column.to) + ", which pgtrail does not replay",
             "rename it on the destination (ALTER TABLE " + target_ + " RENAME COLUMN " +
                 quote_ident(column.column) + " TO " + quote_ident(column.to) + ")");
    }

    void retype(const ColumnChange& column) {
        const Column* have = find_column(table_, column.column);
        if (have == nullptr || have->type == column.type) return;
        hold("the source changed column " + quote_ident(column.column) + " from " + column.from +
                 " to " + column.type + ", which pgtrail does not replay",
             "change it on the destination (" + alter_column(column.column, "TYPE ") + column.type +
                 "), then check with db_verify --table " + table_.name.display());
    }

    pqxx::work& tx_;
    const SchemaChange& change_;
    TableInfo table_;
    std::string target_;
};

void apply_change(pqxx::connection& dest, const SchemaChange& change) {
    pqxx::work tx(dest, "schema evolution");
    require_evolved_columns(tx);
    if (!load_table(tx, change.table)) return;
    // Consumers applying copies of this change at once take turns here, and each reads the
    // catalog only once the one before has committed.
    pq::exec0(tx, "LOCK TABLE " + change.table.quoted() + " IN ACCESS EXCLUSIVE MODE");
    std::optional<TableInfo> table = load_table(tx, change.table);
    TableEvolution evolution(tx, change, std::move(*table));
    for (const auto& column : change.columns) evolution.apply(column);
    tx.commit();
}

}  // namespace

void evolve_table(pqxx::connection& dest, const SchemaChange& change) {
    try {
        apply_change(dest, change);
    } catch (const pqxx::sql_error& e) {
        if (is_transient(e)) throw;
        // Refused for good (the consumer's role may not alter the table, say): a hold, so
        // nothing after the change is applied without its columns until someone fixes it.
        std::string reason = e.what();
        reason = reason.substr(0, reason.find('\n'));
        throw SchemaDrift(
            change.table,
            "table " + change.table.display() +
                ": the source's schema change cannot be applied on "
                "the destination (" +
                reason +
                "); run the consumer as the table's owner, or add the columns with db_setup "
                "--table " +
                change.table.display() +
                " and copy their values with db_verify --repair "
                "--table " +
                change.table.display());
    }
}

void require_added_columns(const TableInfo& table, const SchemaChange& change) {
    for (const auto& column : change.columns) {
        const bool adds = column.action == ColumnChange::Action::add ||
                          column.action == ColumnChange::Action::add_rewritten;
        const bool renames = column.action == ColumnChange::Action::rename;
        if (!adds && !renames) continue;
        const std::string& name = renames ? column.to : column.column;
        if (find_column(table, name) == nullptr)
            throw SchemaDrift::missing_column(table.name, name);
    }
}

AbsentValues load_absent_values(pqxx::transaction_base& tx, const TableName& table) {
    require_evolved_columns(tx);
    AbsentValues absent;
    for (const auto& row : pq::exec(tx, kAbsentValues, table.schema, table.name))
        absent.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    return absent;
}

}  // namespace pgtrail
