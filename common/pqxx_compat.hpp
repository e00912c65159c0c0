#pragma once

// The libpqxx calls pgtrail needs, written once for each libpqxx it builds with. The tested
// versions are 6.4 (Debian 12) and 7.10 (Debian 13); this is the only file that reads
// PQXX_VERSION_*. What differs:
// - 7.10 deprecates exec0/exec1/exec_params*/exec_prepared*: it wants exec(query, params)
//   and a row-count check on the result (no_rows(), one_row()).
// - 7.0 makes array_parser's juncture an enum class; 7.10 deprecates field::as_array() for
//   pqxx::array.
// - 7.0 renames readwrite_policy to write_policy.
// - COPY of text fields (CopyWriter): 7.7 has the raw_table() factory and deprecates the
//   stream_to(tx, table) constructor; 6.4's stream_to octal-escapes non-ASCII bytes, so there
//   the line is escaped by hand and written with the deprecated tablewriter.
// - result::size_type is unsigned in 6.4 and int in 7.x: code compares sizes as that type.
// - GCC 14 reports a false -Wmaybe-uninitialized inside the inline template part of 7.10's
//   params::append, so exec* convert each value to text here, with the same is_null and
//   to_string that append would use, and hand append only strings and NULLs (compiled into
//   libpqxx). pgtrail binds no binary (bytea) parameters, which append would send as binary.
// - COPY from one server to another, raw lines passed through: 6.4's stream_from and
//   tablewriter paste the table name after "COPY " (so "(SELECT ...)" and "t (a, b)" pass
//   through); its stream_to keeps write_raw_line private, and its stream_to << stream_from
//   doubles each line's newline, so the deprecated tablewriter writes. 7.7 has the query()
//   and raw_table() factories and a working stream_to << stream_from; 7.10 deprecates
//   stream_from, query() included, for the typed transaction_base::stream(), which cannot
//   pass lines through unparsed.
// Everything else pgtrail uses (exec(query), prepare, affected_rows) is shared.

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#define PGTRAIL_PQXX_AT_LEAST(major, minor) \
    (PQXX_VERSION_MAJOR > (major) ||        \
     (PQXX_VERSION_MAJOR == (major) && PQXX_VERSION_MINOR >= (minor)))

#if !PGTRAIL_PQXX_AT_LEAST(7, 7)
#include <pqxx/tablewriter>
#endif

namespace pgtrail::pq {

#if PGTRAIL_PQXX_AT_LEAST(7, 0)
using write_policy = pqxx::write_policy;
#else
using write_policy = pqxx::readwrite_policy;
#endif

#if PGTRAIL_PQXX_AT_LEAST(7, 10)
namespace detail {
// Values go in as text or NULL: see the GCC 14 note at the top.
template <typename... Args>
pqxx::params params_of(Args&&... args) {
    pqxx::params params;
    // Unused for a statement without parameters (a history table's insert).
    [[maybe_unused]] const auto add = [&params](auto&& arg) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(arg)>, pqxx::params>)
            params.append(std::forward<decltype(arg)>(arg));
        else if (pqxx::is_null(arg))
            params.append();
        else
            params.append(pqxx::to_string(arg));
    };
    (add(std::forward<Args>(args)), ...);
    return params;
}
}  // namespace detail
#endif

// A statement's parameters from a container, for statements whose parameter count varies.
// 6.4 keeps iterators into the container: it must outlive the call.
template <typename Container>
auto params_from(const Container& values) {
#if PGTRAIL_PQXX_AT_LEAST(7, 10)
    pqxx::params params;
    params.append_multi(values);
    return params;
#else
    return pqxx::prepare::make_dynamic_params(values);
#endif
}

// Runs `sql` with `args` bound to $1, $2, ... Without arguments it runs as a simple query,
// which may hold several statements (an installed SQL script).
template <typename... Args>
pqxx::result exec(pqxx::transaction_base& tx, std::string_view sql, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
        return tx.exec(std::string(sql));
    } else {
#if PGTRAIL_PQXX_AT_LEAST(7, 10)
        return tx.exec(sql, detail::params_of(std::forward<Args>(args)...));
#else
        return tx.exec_params(std::string(sql), std::forward<Args>(args)...);
#endif
    }
}

// As exec, for a statement that must return no rows (pqxx::unexpected_rows otherwise); the
// result still tells affected_rows().
template <typename... Args>
pqxx::result exec0(pqxx::transaction_base& tx, std::string_view sql, Args&&... args) {
#if PGTRAIL_PQXX_AT_LEAST(7, 10)
    return exec(tx, sql, std::forward<Args>(args)...).no_rows();
#else
    if constexpr (sizeof...(Args) == 0)
        return tx.exec0(std::string(sql));
    else
        return tx.exec_params0(std::string(sql), std::forward<Args>(args)...);
#endif
}

// As exec, for a statement that must return exactly one row.
template <typename... Args>
pqxx::row exec1(pqxx::transaction_base& tx, std::string_view sql, Args&&... args) {
#if PGTRAIL_PQXX_AT_LEAST(7, 10)
    return exec(tx, sql, std::forward<Args>(args)...).one_row();
#else
    if constexpr (sizeof...(Args) == 0)
        return tx.exec1(std::string(sql));
    else
        return tx.exec_params1(std::string(sql), std::forward<Args>(args)...);
#endif
}

// Runs the prepared statement `name`, which must return no rows.
template <typename... Args>
pqxx::result exec_prepared0(pqxx::transaction_base& tx, const std::string& name, Args&&... args) {
#if PGTRAIL_PQXX_AT_LEAST(7, 10)
    return tx.exec(pqxx::prepped{name}, detail::params_of(std::forward<Args>(args)...)).no_rows();
#else
    return tx.exec_prepared0(name, std::forward<Args>(args)...);
#endif
}

// A COPY `table` FROM STDIN taking rows of text fields and NULLs (nullopt). 7.x's stream_to
// takes a container and escapes only COPY's special characters. 6.4's takes tuples only, and
// it writes every non-ASCII byte as an octal escape, which PostgreSQL stores as it is,
// unconverted from the client encoding; so for 6.4 the line is escaped here and written raw
// with the deprecated tablewriter. Either way the server converts the text from the session's
// client encoding (UTF8) into the database's.
class CopyWriter {
public:
    CopyWriter(pqxx::transaction_base& tx, const std::string& table)
#if PGTRAIL_PQXX_AT_LEAST(7, 7)
        : out_(pqxx::stream_to::raw_table(tx, table)){}
#else
        : out_(begin(tx, table)) {
    }
#endif

          void write(const std::vector<std::optional<std::string>>& fields) {
#if PGTRAIL_PQXX_AT_LEAST(7, 7)
        out_ << fields;
#else
        line_.clear();
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i > 0) line_ += '\t';
            if (!fields[i]) {
                line_ += "\\N";
                continue;
            }
            for (const char c : *fields[i]) {
                switch (c) {
                    case '\\':
                        line_ += "\\\\";
                        break;
                    case '\t':
                        line_ += "\\t";
                        break;
                    case '\n':
                        line_ += "\\n";
                        break;
                    case '\r':
                        line_ += "\\r";
                        break;
                    default:
                        line_ += c;
                }
            }
        }
        out_.write_raw_line(line_);
#endif
    }

    void complete() { out_.complete(); }

private:
#if PGTRAIL_PQXX_AT_LEAST(7, 7)
    pqxx::stream_to out_;
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    static pqxx::tablewriter begin(pqxx::transaction_base& tx, const std::string& table) {
        return pqxx::tablewriter(tx, table);
    }
    pqxx::tablewriter out_;
#pragma GCC diagnostic pop
    std::string line_;
#endif
};

// Streams the rows of `query`, run as COPY (query) TO STDOUT in `from`, into COPY `table`
// (`columns`) FROM STDIN in `to`, one text line at a time and unparsed, so memory holds a
// row whatever the row count. COPY takes no parameters: `query` holds its values. `table`
// and `columns` are SQL, quoted already. Both sessions must print and read values alike
// (common/session_settings.hpp pins that), so each value's text reads back as the value.
inline void copy_rows(pqxx::transaction_base& from, const std::string& query,
                      pqxx::transaction_base& to, const std::string& table,
                      const std::string& columns) {
#if PGTRAIL_PQXX_AT_LEAST(7, 7)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    pqxx::stream_from in = pqxx::stream_from::query(from, query);
#pragma GCC diagnostic pop
    pqxx::stream_to out = pqxx::stream_to::raw_table(to, table, columns);
    out << in;
#else
    pqxx::stream_from in(from, "(" + query + ")");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    pqxx::tablewriter out(to, table + " (" + columns + ")");
#pragma GCC diagnostic pop
    for (std::string line; in.get_raw_line(line);) out.write_raw_line(line);
#endif
    in.complete();
    out.complete();
}

// The elements of a one-dimensional array field read as text; NULL elements are nullopt.
inline std::vector<std::optional<std::string>> array_items(const pqxx::field& field) {
    std::vector<std::optional<std::string>> items;
#if PGTRAIL_PQXX_AT_LEAST(7, 10)
    const auto array = field.as_sql_array<std::optional<std::string>>();
    items.assign(array.cbegin(), array.cend());
#else
    pqxx::array_parser parser = field.as_array();
    for (auto [kind, text] = parser.get_next(); kind != pqxx::array_parser::juncture::done;
         std::tie(kind, text) = parser.get_next()) {
        if (kind == pqxx::array_parser::juncture::string_value) items.emplace_back(std::move(text));
        if (kind == pqxx::array_parser::juncture::null_value) items.emplace_back();
    }
#endif
    return items;
}

}  // namespace pgtrail::pq

#undef PGTRAIL_PQXX_AT_LEAST
