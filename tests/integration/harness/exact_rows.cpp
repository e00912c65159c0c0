#include "harness/exact_rows.hpp"

#include "harness/eventually.hpp"
#include "harness/sql.hpp"

namespace pgtrail::it {
namespace {

constexpr std::size_t kShownChars = 400;
constexpr std::size_t kShownRows = 20;

std::string shown(const std::vector<std::string>& rows) {
    std::string out;
    for (std::size_t i = 0; i < rows.size() && i < kShownRows; ++i) {
        const std::string& row = rows[i];
        out += row.size() <= kShownChars
                   ? row
                   : row.substr(0, kShownChars) + "[... " + std::to_string(row.size()) + " bytes]";
        out += "\n";
    }
    if (rows.size() > kShownRows) out += "[... " + std::to_string(rows.size()) + " rows]\n";
    return out.empty() ? "(no rows)\n" : out;
}

// Where the first difference is, so a long row's mismatch can be found.
std::string first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        if (a[i] == b[i]) continue;
        std::size_t at = 0;
        while (at < a[i].size() && at < b[i].size() && a[i][at] == b[i][at]) ++at;
        const std::size_t from = at > 60 ? at - 60 : 0;
        return "first difference: row " + std::to_string(i) + " at byte " + std::to_string(at) +
               "\n  source: ..." + a[i].substr(from, 160) + "\n  dest:   ..." +
               b[i].substr(from, 160) + "\n";
    }
    return "row counts: source " + std::to_string(a.size()) + ", destination " +
           std::to_string(b.size()) + "\n";
}

std::string describe(const std::string& table, const std::vector<std::string>& source,
                     const std::vector<std::string>& dest) {
    return table + " differs\n" + first_difference(source, dest) + "---- source:\n" +
           shown(source) + "---- destination:\n" + shown(dest);
}

std::string sql_literal(const std::string& text) {
    std::string literal = "'";
    for (char c : text) {
        if (c == '\'') literal += '\'';
        literal += c;
    }
    return literal + "'";
}

// On the destination, a query that fails (a column not yet added) reads as a difference;
// on the source it is the test's own mistake and throws.
std::vector<std::string> dest_rows_or_error(const std::string& url, const std::string& table,
                                            const std::string& columns) {
    try {
        return exact_rows(url, table, columns);
    } catch (const std::exception& e) {
        return {std::string("destination query failed: ") + e.what()};
    }
}

}  // namespace

std::string source_columns(const TestEnv& env, const std::string& qualified_table) {
    return query_value(env.source_url(),
                       "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) "
                       "FROM pg_attribute WHERE attrelid = " +
                           sql_literal(qualified_table) +
                           "::regclass AND attnum > 0 AND NOT attisdropped");
}

std::vector<std::string> exact_rows(const std::string& url, const std::string& qualified_table,
                                    const std::string& columns) {
    return query_column(url, "SELECT j FROM (SELECT row_to_json(r)::text AS j FROM (SELECT " +
                                 columns + " FROM " + qualified_table +
                                 ") r) s ORDER BY j COLLATE \"C\"");
}

std::string wait_until_exact(const TestEnv& env, const std::string& qualified_table,
                             std::chrono::milliseconds timeout) {
    const std::string columns = source_columns(env, qualified_table);
    std::vector<std::string> source, dest;
    const bool same = eventually(
        [&] {
            source = exact_rows(env.source_url(), qualified_table, columns);
            dest = dest_rows_or_error(env.dest_url(), qualified_table, columns);
            return source == dest;
        },
        timeout);
    return same ? "" : describe(qualified_table, source, dest);
}

std::string exact_difference(const TestEnv& env, const std::string& qualified_table) {
    return wait_until_exact(env, qualified_table, std::chrono::milliseconds(0));
}

}  // namespace pgtrail::it
