#include "setup/row_pipe.hpp"

#include "common/pqxx_compat.hpp"

namespace pgtrail {

std::int64_t pipe_rows(pqxx::transaction_base& source, const std::string& query,
                       pqxx::transaction_base& dest, const std::string& table,
                       const std::string& columns) {
    pq::CopyOut out(source, query);
    pq::CopyIn in(dest, table, columns);
    std::int64_t rows = 0;
    std::string line;
    while (out.next(line)) {
        in.write(line);
        ++rows;
    }
    in.complete();
    return rows;
}

}  // namespace pgtrail
