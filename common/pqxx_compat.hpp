#pragma once

// The libpqxx calls pgtrail needs, written once for each libpqxx it builds with. The tested
// versions are 6.4 (Debian 12) and 7.10 (Debian 13); this is the only file that reads
// PQXX_VERSION_*. What differs:
// - 7.10 deprecates exec0/exec1/exec_params*/exec_prepared*: it wants exec(query, params)
//   and a row-count check on the result (no_rows(), one_row()).
// - 7.0 makes array_parser's juncture an enum class; 7.10 deprecates field::as_array() for
//   pqxx::array.
// - 7.0 renames readwrite_policy to write_policy.
// - 7.7 deprecates the stream_to(tx, table) constructor for the raw_table() factory.
// - result::size_type is unsigned in 6.4 and int in 7.x: code compares sizes as that type.
// - GCC 14 reports a false -Wmaybe-uninitialized inside the inline template part of 7.10's
//   params::append, so exec* convert each value to text here, with the same is_null and
//   to_string that append would use, and hand append only strings and NULLs (compiled into
//   libpqxx). pgtrail binds no binary (bytea) parameters, which append would send as binary.
// - Raw COPY lines: 6.4's stream_from and tablewriter take a table name that they paste
//   after "COPY " (so "(SELECT ...)" or "t (a, b)" pass through) and read/write std::string
//   lines; its stream_to keeps write_raw_line private, and tablewriter, the one public raw
//   writer, is deprecated there. 7.x has the query() and raw_table() factories,
//   get_raw_line returns a buffer and a size, write_raw_line takes a string_view. All drop
//   the newline on read and add it on write.
// Everything else pgtrail uses (exec(query), prepare, stream_to's <<, affected_rows) is shared.

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

#if !PGTRAIL_PQXX_AT_LEAST(7, 0)
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
    const auto add = [&params](auto&& arg) {
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

// A COPY ... FROM STDIN into `table`, given as SQL (quoted or qualified already).
inline pqxx::stream_to stream_into(pqxx::transaction_base& tx, const std::string& table) {
#if PGTRAIL_PQXX_AT_LEAST(7, 7)
    return pqxx::stream_to::raw_table(tx, table);
#else
    return pqxx::stream_to(tx, table);
#endif
}

// COPY (query) TO STDOUT in text format, read line by line: rows pass from one server to
// another without being parsed. COPY takes no parameters, so `query` holds its values.
class CopyOut {
public:
    CopyOut(pqxx::transaction_base& tx, const std::string& query)
#if PGTRAIL_PQXX_AT_LEAST(7, 0)
        : stream_(pqxx::stream_from::query(tx, query))
#else
        : stream_(tx, "(" + query + ")")
#endif
    {
    }
    // The next line without its newline into `line`; false at the end, the COPY complete.
    bool next(std::string& line) {
#if PGTRAIL_PQXX_AT_LEAST(7, 0)
        const auto raw = stream_.get_raw_line();
        if (raw.first == nullptr) {
            stream_.complete();
            return false;
        }
        line.assign(raw.first.get(), raw.second);
        return true;
#else
        if (stream_.get_raw_line(line)) return true;
        stream_.complete();
        return false;
#endif
    }

private:
    pqxx::stream_from stream_;
};

// COPY `table` (`columns`) FROM STDIN in text format, fed the lines CopyOut reads. `table`
// and `columns` are SQL, quoted already; complete() ends the COPY.
class CopyIn {
public:
#if PGTRAIL_PQXX_AT_LEAST(7, 7)
    CopyIn(pqxx::transaction_base& tx, const std::string& table, const std::string& columns)
        : stream_(pqxx::stream_to::raw_table(tx, table, columns)) {}
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    CopyIn(pqxx::transaction_base& tx, const std::string& table, const std::string& columns)
        : stream_(tx, table + " (" + columns + ")") {}
#pragma GCC diagnostic pop
#endif
    void write(const std::string& line) { stream_.write_raw_line(line); }
    void complete() { stream_.complete(); }

private:
#if PGTRAIL_PQXX_AT_LEAST(7, 7)
    pqxx::stream_to stream_;
#else
    pqxx::tablewriter stream_;
#endif
};

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
