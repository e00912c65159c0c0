#pragma once

#include <pqxx/pqxx>

#include "common/table_catalog.hpp"
#include "consumer/envelope_decoder.hpp"
#include "consumer/schema_change.hpp"

namespace pgtrail {

// Brings a destination table up to a schema change of its source table, for
// `consumer --schema-evolution add-columns` (README "Schema changes"):
// - an added column is added with the source's type, existing rows get the value the source's
//   existing rows read (the DEFAULT as evaluated at the ALTER), NOT NULL only when there is
//   such a value; that value is also recorded in cdc.evolved_columns, so a change written
//   before the ALTER but applied after it gets it too (load_absent_values);
// - a dropped column stays, nullable and without a default, so rows changed from now on hold
//   NULL in it; reported once in the log (cdc.evolved_columns remembers it was);
// - anything else (a type change, a rename, a column whose default rewrote the source table
//   without replicating its rows) throws SchemaDrift with a one-line reason and the command
//   that resolves it, until the destination shows it resolved.
// One transaction under ACCESS EXCLUSIVE on the table, every step idempotent, so the copies of
// the change in every partition, and several consumers applying them at once, agree.
// A table missing on the destination is left alone: its changes are dead letters anyway.
// The destination refusing the DDL for good (a role that does not own the table, a type it
// lacks) is a hold too, naming PostgreSQL's reason; transient errors are thrown as they are.
void evolve_table(pqxx::connection& dest, const SchemaChange& change);

// Without --schema-evolution: throws SchemaDrift::missing_column (the hold that asks for
// db_setup) when the change added or renamed a column to a name `table` (as on the
// destination) lacks, so the stream holds at the change itself, before any row carrying the
// column; anything else passes, as it did before schema changes were captured.
void require_added_columns(const TableInfo& table, const SchemaChange& change);

// The columns of `table` that rows written before their ADD COLUMN lack, with the value they
// stand for, from cdc.evolved_columns. Throws UsageError when db_setup has not created that
// table yet.
AbsentValues load_absent_values(pqxx::transaction_base& tx, const TableName& table);

}  // namespace pgtrail
