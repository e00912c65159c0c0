#include "setup/key_ranges.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/pg_arrays.hpp"
#include "common/pqxx_compat.hpp"
#include "common/sql_names.hpp"

namespace pgtrail {
namespace {

// Collation details live in columns that differ across PostgreSQL versions (daticulocale,
// datlocale...), so they are read through to_jsonb and a missing one simply reads as NULL.
// The database's encoding counts too: "C" orders LATIN9's bytes unlike UTF-8's.
constexpr const char* kKeySortOrders = R"sql(
SELECT CASE
         WHEN a.attcollation = 0 THEN ''
         ELSE getdatabaseencoding() || '/' || CASE
           WHEN c.collname = 'default' THEN (
             SELECT concat_ws('/', d.datcollate, j->>'datlocprovider', j->>'daticulocale',
                              j->>'datlocale')
             FROM pg_database d CROSS JOIN LATERAL to_jsonb(d) j
             WHERE d.datname = current_database())
           ELSE concat_ws('/', c.collname, j->>'collprovider', j->>'collcollate',
                          j->>'colliculocale', j->>'colllocale')
         END
       END
FROM unnest($1::text[]) WITH ORDINALITY AS k(name, position)
JOIN pg_attribute a ON a.attrelid = $2::regclass AND a.attname = k.name
LEFT JOIN pg_collation c ON c.oid = a.attcollation
LEFT JOIN LATERAL to_jsonb(c) j ON true
ORDER BY k.position
)sql";

std::string key_list(const TableInfo& table, const std::string& prefix) {
    std::string list;
    for (const auto& pk : table.pk_columns)
        list += (list.empty() ? "" : ", ") + prefix + quote_ident(pk);
    return list;
}

const std::string& column_type(const TableInfo& table, const std::string& name) {
    const auto column = std::find_if(table.columns.begin(), table.columns.end(),
                                     [&](const Column& c) { return c.name == name; });
    if (column == table.columns.end())
        throw RuntimeFailure("table " + table.name.display() + ": key column " + name +
                             " not among its columns");
    return column->type;
}

// "($1::bigint, $2::text)" with placeholders numbered from first.
std::string typed_placeholders(const TableInfo& table, std::size_t first) {
    std::string list;
    for (std::size_t i = 0; i < table.pk_columns.size(); ++i)
        list += (i ? ", $" : "$") + std::to_string(first + i) +
                "::" + column_type(table, table.pk_columns[i]);
    return "(" + list + ")";
}

}  // namespace

std::vector<KeyRange> chunk_ranges(pqxx::transaction_base& tx, const TableInfo& table,
                                   std::int64_t chunk_rows) {
    const std::string text_keys = [&] {
        std::string list;
        for (const auto& pk : table.pk_columns)
            list += (list.empty() ? "b." : ", b.") + quote_ident(pk) + "::text";
        return list;
    }();
    const std::string sql = "SELECT " + text_keys + " FROM (SELECT " + key_list(table, "t.") +
                            ", row_number() OVER (ORDER BY " + key_list(table, "t.") +
                            ") AS _n FROM " + table.name.quoted() +
                            " t) b WHERE b._n % $1 = 0 ORDER BY b._n";
    std::vector<KeyRange> ranges(1);
    for (const auto& row : pq::exec(tx, sql, chunk_rows)) {
        std::vector<std::string> key;
        for (const auto& field : row) key.push_back(field.as<std::string>());
        ranges.back().upto = key;
        ranges.push_back({std::move(key), {}});
    }
    return ranges;
}

std::string range_condition(const TableInfo& table, const KeyRange& range) {
    const std::string row = "(" + key_list(table, "t.") + ")";
    std::vector<std::string> terms;
    if (!range.after.empty()) terms.push_back(row + " > " + typed_placeholders(table, 1));
    if (!range.upto.empty())
        terms.push_back(row + " <= " + typed_placeholders(table, range.after.size() + 1));
    if (terms.empty()) return "";
    return " WHERE " + terms.front() + (terms.size() > 1 ? " AND " + terms.back() : "");
}

std::vector<std::string> range_parameters(const KeyRange& range) {
    std::vector<std::string> parameters = range.after;
    parameters.insert(parameters.end(), range.upto.begin(), range.upto.end());
    return parameters;
}

std::vector<std::string> key_sort_orders(pqxx::transaction_base& tx, const TableInfo& table) {
    std::vector<std::string> orders;
    for (const auto& row :
         pq::exec(tx, kKeySortOrders, text_array_literal(table.pk_columns), table.name.quoted()))
        orders.push_back(row[0].as<std::string>());
    return orders;
}

}  // namespace pgtrail
