#pragma once

#include <string>
#include <vector>

namespace pgtrail::it {

// Each call opens its own connection: tests poll from the outside like any client would,
// and no connection outlives a cluster restart.

// Runs one or more statements in a transaction and commits.
void exec(const std::string& url, const std::string& sql);

// The single value of a one-row, one-column query; NULL throws, so compare with coalesce().
std::string query_value(const std::string& url, const std::string& sql);

// The first column of every row, in the query's order; NULL reads as the text NULL.
std::vector<std::string> query_column(const std::string& url, const std::string& sql);

// Rows of a table as JSON text, sorted, without pgtrail's _cdc_* guard columns: the form in
// which source and destination must agree.
std::vector<std::string> user_rows(const std::string& url, const std::string& table);

// Rows as stored, guard columns included, to prove a replay rewrote nothing.
std::vector<std::string> stored_rows(const std::string& url, const std::string& table);

std::string lines(const std::vector<std::string>& rows);

// The error PostgreSQL raised for `sql`, or "" when it succeeded: for checks that a role may
// not do something.
std::string error_of(const std::string& url, const std::string& sql);

}  // namespace pgtrail::it
